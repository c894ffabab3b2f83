"""Translation as a Lightning task: teacher-forced loss, and decoding scored with BLEU and chrF."""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from sacrebleu.metrics import BLEU, CHRF
from torch import Tensor, nn
from torchmetrics import MeanMetric

from seqlab.decoding.hypothesis import SearchLimits
from seqlab.decoding.translation_search import translation_search
from seqlab.errors import SeqlabError
from seqlab.tasks.base import SeqlabTask, checked_label_smoothing, perplexity

MONITORS = ("val/bleu", "val/chrf", "val/loss", "val/ppl")  # what a translation run can optimize


class TranslationTask(SeqlabTask):
    """Wraps an encoder-decoder nn.Module (models.seq2seq): teacher-forced loss and perplexity, and
    decoding scored with sacrebleu's corpus BLEU and chrF on detokenized text.

    Validation decodes greedily (or with val_beam_size) up to val_max_sentences sentences each epoch, as
    val/bleu and val/chrf; test decodes every sentence greedily and with beam search (beam_size,
    length_penalty), logging test/bleu and test/chrf of the beam (test/bleu_greedy of greedy search) and the
    decoding speed of both."""

    task_name = "translation"

    def __init__(
        self,
        net: nn.Module,
        optimizer,
        scheduler=None,
        pad_id: int = 0,
        bos_id: int = 2,
        eos_id: int = 3,
        monitor: str = "val/bleu",
        label_smoothing: float = 0.1,
        beam_size: int = 5,
        length_penalty: float = 0.6,
        max_len_a: float = 1.5,
        max_len_b: int = 10,
        val_beam_size: int = 1,
        val_max_sentences: int | None = None,
        heatmap_sentences: int = 4,
        sample_size: int = 20,
    ):
        super().__init__(net, optimizer, scheduler, monitor)
        if monitor not in MONITORS:
            raise SeqlabError(f"optimized_metric={monitor} is not a translation metric; choices: "
                              f"{', '.join(MONITORS)} (the translate_* presets set val/bleu)")
        if beam_size < 1 or val_beam_size < 1:
            raise SeqlabError("model.beam_size and model.val_beam_size must be at least 1")
        if val_max_sentences is not None and val_max_sentences < 1:
            raise SeqlabError(f"model.val_max_sentences={val_max_sentences} must be at least 1, or null to "
                              "decode every validation sentence (val/bleu needs some)")
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id
        self.label_smoothing = checked_label_smoothing(label_smoothing)
        self.beam_size, self.length_penalty, self.val_beam_size = beam_size, length_penalty, val_beam_size
        self.limits = SearchLimits(max_len_a, max_len_b)
        self.val_max_sentences = val_max_sentences
        self.heatmap_sentences, self.sample_size = heatmap_sentences, sample_size
        self.eval_loss = nn.ModuleDict({stage: MeanMetric() for stage in ("val", "test")})
        self.hypotheses: dict[str, dict[int, list[int]]] = {"val": {}, "test": {}, "test_greedy": {}}
        self.decode_seconds: dict[str, float] = {}

    # -- training --------------------------------------------------------------------------------------------
    def teacher_forced_loss(self, batch: dict, label_smoothing: float = 0.0) -> tuple[Tensor, Tensor]:
        """Cross-entropy per target token (pads left out), and the labels it came from."""
        tgt = batch["tgt_ids"]
        logits, _ = self.net(batch["src_ids"], batch["src_mask"], tgt[:, :-1])
        labels = tgt[:, 1:]
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1),
                               ignore_index=self.pad_id, label_smoothing=label_smoothing)
        return loss, labels

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        loss, labels = self.teacher_forced_loss(batch, self.label_smoothing)
        tokens = int((labels != self.pad_id).sum())
        return self.record_training_step(loss, tokens, tokens)  # the loss is a mean over target tokens

    # -- evaluation ------------------------------------------------------------------------------------------
    def _teacher_forced(self, batch: dict, stage: str) -> None:
        """Plain cross-entropy (no label smoothing) averaged over target tokens, whatever the batch sizes, so
        that {stage}/ppl = exp({stage}/loss)."""
        loss, labels = self.teacher_forced_loss(batch)
        self.eval_loss[stage].update(loss, weight=int((labels != self.pad_id).sum()))
        self.log(f"{stage}/loss", self.eval_loss[stage], on_epoch=True)

    def _log_perplexity(self, stage: str) -> None:
        self.log(f"{stage}/ppl", perplexity(float(self.eval_loss[stage].compute())))

    def decode(self, src_ids: torch.Tensor, src_mask: torch.Tensor, beam_size: int):
        return translation_search(self.net, src_ids, src_mask, self.bos_id, self.eos_id, beam_size,
                                  self.length_penalty, self.limits)

    def _decode_into(self, key: str, batch: dict, beam_size: int, keep: torch.Tensor | None = None) -> None:
        src_ids, src_mask, index = batch["src_ids"], batch["src_mask"], batch["index"]
        if keep is not None:
            src_ids, src_mask, index = src_ids[keep], src_mask[keep], index[keep]
        if len(index) == 0:
            return
        start = time.perf_counter()
        hypotheses = self.decode(src_ids, src_mask, beam_size)
        self.decode_seconds[key] = self.decode_seconds.get(key, 0.0) + time.perf_counter() - start
        self.hypotheses[key].update(zip(index.tolist(), (h.tokens for h in hypotheses), strict=True))

    def on_validation_epoch_start(self) -> None:
        self.hypotheses["val"] = {}

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._teacher_forced(batch, "val")
        cap = self.val_max_sentences
        self._decode_into("val", batch, self.val_beam_size, None if cap is None else batch["index"] < cap)

    def on_validation_epoch_end(self) -> None:
        self._log_perplexity("val")
        scores = self._corpus_scores("val", "val")
        if scores:
            self.log_dict({"val/bleu": scores[0], "val/chrf": scores[1]})

    def on_test_epoch_start(self) -> None:
        self.hypotheses["test"], self.hypotheses["test_greedy"], self.decode_seconds = {}, {}, {}

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._teacher_forced(batch, "test")
        self._decode_into("test_greedy", batch, 1)
        if self.beam_size > 1:
            self._decode_into("test", batch, self.beam_size)

    def on_test_epoch_end(self) -> None:
        self._log_perplexity("test")
        if self.beam_size == 1:
            self.hypotheses["test"] = dict(self.hypotheses["test_greedy"])
            self.decode_seconds["test"] = self.decode_seconds.get("test_greedy", 0.0)
        metrics = {}
        for key, suffix in (("test", ""), ("test_greedy", "_greedy")):
            sentences = len(self.hypotheses[key])
            scores = self._corpus_scores(key, "test")
            if scores:
                metrics.update({f"test/bleu{suffix}": scores[0], f"test/chrf{suffix}": scores[1]})
                seconds = max(self.decode_seconds[key], 1e-9)
                metrics[f"test/sent_per_sec{suffix or '_beam'}"] = sentences / seconds
        self.log_dict(metrics)

    def _corpus_scores(self, key: str, split: str) -> tuple[float, float] | None:
        """sacrebleu corpus BLEU and chrF of the decoded sentences of `split` (every rank's), detokenized."""
        hypotheses = self._gathered(key)
        datamodule = self.trainer.datamodule
        if not hypotheses or datamodule is None:
            return None
        rows = sorted(hypotheses)
        texts = datamodule.detokenize([hypotheses[i] for i in rows])
        references = datamodule.references(split)
        refs = [[references[i] for i in rows]]
        bleu = BLEU(lowercase=datamodule.lowercase_target).corpus_score(texts, refs).score
        chrf = CHRF(lowercase=datamodule.lowercase_target).corpus_score(texts, refs).score
        return bleu, chrf

    def _gathered(self, key: str) -> dict[int, list[int]]:
        hypotheses = self.hypotheses[key]
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            shards = [None] * torch.distributed.get_world_size()
            torch.distributed.all_gather_object(shards, hypotheses)
            hypotheses = {i: h for shard in shards for i, h in shard.items()}  # a repeated batch counts once
            self.hypotheses[key] = hypotheses
        return hypotheses

    # -- optimisation, outputs, checkpoints ------------------------------------------------------------------
    def decoding_options(self) -> dict:
        return {"beam_size": self.beam_size, "length_penalty": self.length_penalty,
                "max_len_a": self.limits.max_len_a, "max_len_b": self.limits.max_len_b}

    def write_outputs(self, datamodule, run_dir):
        # imported when the run ends: the report writer loads matplotlib
        from seqlab.tasks.translation_outputs import write_translation_outputs

        return write_translation_outputs(self, datamodule, run_dir)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["decoding"] = self.decoding_options()
