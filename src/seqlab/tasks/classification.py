"""Text classification as a Lightning task: loss, metrics and predictions of any classifier net."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix, MulticlassF1Score

from seqlab.errors import SeqlabError
from seqlab.tasks.base import SeqlabTask, checked_label_smoothing


class ClassificationTask(SeqlabTask):
    """Wraps any classifier nn.Module (ids, mask -> logits). A net with parameter_groups(lr) (a pretrained
    encoder) gets its own learning rate per group."""

    task_name = "classification"

    def __init__(
        self,
        net: nn.Module,
        optimizer,
        scheduler=None,
        num_classes: int = 2,
        monitor: str = "val/acc",
        label_smoothing: float = 0.0,
        attention_sentences: int = 3,
    ):
        super().__init__(net, optimizer, scheduler, monitor)
        self.label_smoothing = checked_label_smoothing(label_smoothing)
        if attention_sentences < 0:
            raise SeqlabError(f"model.attention_sentences={attention_sentences} must be 0 or more")
        self.attention_sentences = attention_sentences  # dev sentences whose attention maps the reports draw
        self.metrics = nn.ModuleDict(
            {
                f"{stage}_{name}": metric
                for stage in ("val", "test")
                for name, metric in (
                    ("acc", MulticlassAccuracy(num_classes, average="micro")),
                    ("f1", MulticlassF1Score(num_classes, average="macro")),
                )
            }
        )
        self.confusion = MulticlassConfusionMatrix(num_classes)
        self.test_predictions: list[tuple[int, int, int, float]] = []  # (index, gold, predicted, probability)
        self.test_confusion: torch.Tensor | None = None

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.net(input_ids, attention_mask)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        logits = self(batch["input_ids"], batch["attention_mask"])
        loss = F.cross_entropy(logits, batch["labels"], label_smoothing=self.label_smoothing)
        size = len(batch["labels"])
        return self.record_training_step(loss, size, int(batch["attention_mask"].sum()), examples=size)

    def configure_optimizers(self):
        groups = getattr(self.net, "parameter_groups", None)
        if groups is None:
            return super().configure_optimizers()
        lr = self.optimizer_factory.keywords["lr"]
        return self.with_scheduler(self.optimizer_factory(params=groups(lr)))

    def _evaluate(self, batch: dict, stage: str) -> torch.Tensor:
        logits = self(batch["input_ids"], batch["attention_mask"])
        labels = batch["labels"]
        loss = F.cross_entropy(logits, labels)
        size = len(labels)
        self.log(f"{stage}/loss", loss, on_epoch=True, batch_size=size)
        for name in ("acc", "f1"):
            metric = self.metrics[f"{stage}_{name}"]
            metric(logits, labels)
            self.log(f"{stage}/{name}", metric, on_epoch=True, batch_size=size)
        return logits

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def on_test_epoch_start(self) -> None:
        self.test_predictions = []
        self.confusion.reset()

    def test_step(self, batch: dict, batch_idx: int) -> None:
        logits = self._evaluate(batch, "test")
        probs = logits.float().softmax(-1)
        confidence, predicted = probs.max(-1)
        self.confusion.update(predicted, batch["labels"])
        columns = (batch["index"], batch["labels"], predicted, confidence)
        self.test_predictions += list(zip(*(c.tolist() for c in columns), strict=True))

    def on_test_epoch_end(self) -> None:
        # every rank takes part in the sync; the reports read the result later, on rank 0 alone
        self.test_confusion = self.confusion.compute().cpu()
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            shards = [None] * torch.distributed.get_world_size()
            torch.distributed.all_gather_object(shards, self.test_predictions)
            # ranks may repeat a batch to stay in step: keep one prediction per row
            self.test_predictions = sorted({row[0]: row for shard in shards for row in shard}.values())

    def write_outputs(self, datamodule, run_dir):
        # imported when the run ends: the report writer loads matplotlib
        from seqlab.tasks.classification_outputs import write_classification_outputs

        return write_classification_outputs(self, datamodule, run_dir)
