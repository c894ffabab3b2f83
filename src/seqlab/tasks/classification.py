"""Text classification task: wraps any classifier nn.Module (ids, mask -> logits); loss, metrics, predictions."""

from __future__ import annotations

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanMetric
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix, MulticlassF1Score

from seqlab.tasks.throughput import EpochThroughput


class ClassificationTask(L.LightningModule):
    task_name = "classification"

    def __init__(
        self,
        net: nn.Module,
        optimizer,
        scheduler=None,
        num_classes: int = 2,
        monitor: str = "val/acc",
    ):
        super().__init__()
        self.net = net
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.monitor = monitor
        self.net_config: dict | None = None  # the net's config, saved in checkpoints to rebuild it
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
        self.train_loss = MeanMetric()
        self.train_loss.persistent(True)  # in checkpoints: an epoch resumed mid-way still averages all its batches
        self.throughput = EpochThroughput()
        self.test_predictions: list[tuple[int, int, int, float]] = []  # (index, gold, predicted, probability)
        self.test_confusion: torch.Tensor | None = None

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.net(input_ids, attention_mask)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        logits = self(batch["input_ids"], batch["attention_mask"])
        loss = F.cross_entropy(logits, batch["labels"])
        self.train_loss.update(loss.detach(), weight=len(batch["labels"]))
        self.log("train/loss", self.train_loss, on_step=False, on_epoch=True)
        self.throughput.add(int(batch["attention_mask"].sum()))
        return loss

    def on_train_epoch_start(self) -> None:
        self.throughput.reset()

    def on_train_epoch_end(self) -> None:
        self.log_dict(self.throughput.metrics())

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

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(params=self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer=optimizer)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "monitor": self.monitor}}

    def write_outputs(self, datamodule, run_dir):
        from seqlab.tasks.classification_reports import write_classification_outputs

        return write_classification_outputs(self, datamodule, run_dir)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["net_config"] = self.net_config
