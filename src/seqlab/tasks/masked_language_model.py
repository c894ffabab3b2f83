"""Masked-language-model pretraining (BERT) as a Lightning task."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanMetric
from torchmetrics.classification import MulticlassAccuracy
from transformers.utils import logging as transformers_logging

from seqlab.data.token_blocks import IGNORE
from seqlab.tasks.base import SeqlabTask, perplexity, weight_decay_groups
from seqlab.tasks.outputs import ModelKind, RunOutputs


class MaskedLanguageModelTask(SeqlabTask):
    """The loss is the cross-entropy of the masked tokens only (the collator labels every other position
    -100). Logged per epoch: val/loss and test/loss (means over masked tokens), their perplexity (exp of that
    mean, as for language modelling) and masked_acc, the share of masked tokens predicted exactly
    (torchmetrics). The run leaves the model with its tokenizer in a save_pretrained folder, which
    `model.net.pretrained=mlflow:<run_id>` fine-tunes or pretrains further."""

    task_name = "masked_language_model"

    def __init__(self, net: nn.Module, optimizer, vocab_size: int, scheduler=None, monitor: str = "val/loss"):
        super().__init__(net, optimizer, scheduler, monitor)
        self.losses = nn.ModuleDict({stage: MeanMetric() for stage in ("val", "test")})
        self.accuracy = nn.ModuleDict({stage: MulticlassAccuracy(vocab_size, average="micro")
                                       for stage in ("val", "test")})

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                chosen: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(input_ids, attention_mask, chosen)

    def _step(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The mean cross-entropy over the batch's masked tokens, their logits [N, V] and labels [N]."""
        masked = batch["labels"] != IGNORE
        logits = self(batch["input_ids"], batch["attention_mask"], masked).float()
        labels = batch["labels"][masked]
        return F.cross_entropy(logits, labels), logits, labels

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        loss, _, labels = self._step(batch)
        return self.record_training_step(loss, len(labels), int(batch["attention_mask"].sum()))

    def _evaluate(self, batch: dict, stage: str) -> None:
        loss, logits, labels = self._step(batch)
        if len(labels):  # a short last block may have no token masked
            self.losses[stage].update(loss, len(labels))  # weighted: the mean over masked tokens
            self.accuracy[stage].update(logits.argmax(-1), labels)

    def _log_epoch(self, stage: str) -> None:
        loss = float(self.losses[stage].compute())
        self.log_dict({f"{stage}/loss": loss, f"{stage}/ppl": perplexity(loss),
                       f"{stage}/masked_acc": self.accuracy[stage].compute()}, prog_bar=stage == "val")
        self.losses[stage].reset()
        self.accuracy[stage].reset()

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test")

    def configure_optimizers(self):
        return self.with_scheduler(self.optimizer_factory(params=weight_decay_groups(self)))

    def write_outputs(self, datamodule, run_dir: Path) -> RunOutputs:
        """The model and its tokenizer in <run_dir>/model (save_pretrained): what from_pretrained and
        `mlflow:<run_id>` load."""
        transformers_logging.disable_progress_bar()  # no bar for a one-file model
        folder = run_dir / "model"
        self.cpu().net.model.save_pretrained(folder)
        datamodule.tokenizer.save_pretrained(folder)
        return RunOutputs(model_dir=folder, model_kind=ModelKind.MASKED_LANGUAGE_MODEL)
