"""Token classification (named entities with a fine-tuned Transformer) as a Lightning task."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.data.word_pieces import IGNORE
from seqlab.ner.evaluation import SplitScores
from seqlab.tasks.base import SeqlabTask


class TokenClassificationTask(SeqlabTask):
    """A cross-entropy loss on each word's first sub-word piece; at the end of every validation and of the
    test, the tags predicted at the first pieces become entities of the split's Docs, scored by spaCy's NER
    scorer under the spaCy runs' metric names (val/ents_f, test/ents_p, .../ents_per_type/<label>/f), so that
    both families compare in one table."""

    task_name = "ner"

    def __init__(self, net: nn.Module, optimizer, scheduler=None, monitor: str = "val/ents_f"):
        super().__init__(net, optimizer, scheduler, monitor)
        self.predicted: dict[int, list[int]] = {}  # row of the split -> tag ids at its words' first pieces
        self.test_scores: SplitScores | None = None

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.net(input_ids, attention_mask)

    def _loss(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self(batch["input_ids"], batch["attention_mask"])
        return F.cross_entropy(logits.flatten(0, 1), batch["labels"].flatten(), ignore_index=IGNORE), logits

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        loss, _ = self._loss(batch)
        words = int((batch["labels"] != IGNORE).sum())
        return self.record_training_step(loss, words, int(batch["attention_mask"].sum()))

    def _evaluate(self, batch: dict, stage: str) -> None:
        loss, logits = self._loss(batch)
        first = batch["labels"] != IGNORE
        self.log(f"{stage}/loss", loss, on_epoch=True, batch_size=int(first.sum()))
        predicted = logits.argmax(-1)
        for row, index in enumerate(batch["index"].tolist()):
            self.predicted[index] = predicted[row][first[row]].tolist()

    def on_validation_epoch_start(self) -> None:
        self.predicted = {}

    def on_test_epoch_start(self) -> None:
        self.predicted = {}

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def on_validation_epoch_end(self) -> None:
        self._score("val")

    def on_test_epoch_end(self) -> None:
        self._score("test")

    def _score(self, stage: str) -> None:
        predicted = self.predicted
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            shards = [None] * torch.distributed.get_world_size()
            torch.distributed.all_gather_object(shards, predicted)
            # keyed by row: a sentence that the sampler gave two ranks counts once
            predicted = {row: tags for shard in shards for row, tags in shard.items()}
        scores = self.trainer.datamodule.score(stage, predicted)
        # every rank scores the same gathered predictions: nothing to sync
        self.log_dict(scores.metrics(stage), on_epoch=True, sync_dist=False)
        if stage == "test":
            self.test_scores = scores

    def write_outputs(self, datamodule, run_dir):
        # imported when the run ends: the report writer loads matplotlib
        from seqlab.tasks.token_classification_outputs import write_token_classification_outputs

        return write_token_classification_outputs(self, datamodule, run_dir)
