"""Language modelling as a Lightning task: cross-entropy over blocks of any next-token model, and
samples each epoch."""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanMetric

from seqlab.data.token_blocks import IGNORE
from seqlab.errors import SeqlabError
from seqlab.inference.generation_options import GenerationOptions
from seqlab.inference.text_generator import TextGenerator
from seqlab.tasks.base import SeqlabTask, perplexity, weight_decay_groups
from seqlab.tasks.language_model_outputs import write_language_model_outputs

SAMPLES_FILE = "samples.txt"


class LanguageModelTask(SeqlabTask):
    """Wraps any next-token model (ids -> logits [B, T, V]): loss / perplexity (and bits per character for
    char-level tokenizers), and samples from fixed prompts each epoch."""

    task_name = "language_model"

    def __init__(
        self,
        net: nn.Module,
        optimizer,
        scheduler=None,
        monitor: str = "val/loss",
        char_level: bool = False,
        sample_prompts: list | None = None,
        sample_max_new_tokens: int = 200,
        sample_temperature: float = 0.8,
        sample_top_k: int = 0,
        sample_seed: int = 1234,
    ):
        super().__init__(net, optimizer, scheduler, monitor)
        self.char_level = char_level
        self.sample_prompts = list(sample_prompts or [])
        self.sample_options = {"max_new_tokens": sample_max_new_tokens, "temperature": sample_temperature,
                               "top_k": sample_top_k, "seed": sample_seed, "do_sample": True}
        check_sample_options(self.sample_options)
        self.losses = nn.ModuleDict({stage: MeanMetric() for stage in ("val", "test")})

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.net(input_ids)

    def next_token_loss(self, batch: dict) -> tuple[torch.Tensor, int]:
        """The mean cross-entropy over the batch's real tokens, and how many there are."""
        logits = self(batch["input_ids"])
        labels = batch["labels"]
        loss = F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), ignore_index=IGNORE)
        return loss, int((labels != IGNORE).sum())

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        loss, tokens = self.next_token_loss(batch)
        return self.record_training_step(loss, tokens, tokens)  # the loss is a mean over the batch's tokens

    def _evaluate(self, batch: dict, stage: str) -> None:
        loss, tokens = self.next_token_loss(batch)
        self.losses[stage].update(loss, tokens)  # weighted: the mean over tokens, whatever the batch sizes

    def _log_epoch(self, stage: str) -> float:
        loss = float(self.losses[stage].compute())
        metrics = {f"{stage}/loss": loss, f"{stage}/ppl": perplexity(loss)}
        if self.char_level:
            metrics[f"{stage}/bpc"] = loss / math.log(2)  # nats per character -> bits per character
        self.log_dict(metrics, prog_bar=stage == "val")
        self.losses[stage].reset()
        return loss

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def on_validation_epoch_end(self) -> None:
        loss = self._log_epoch("val")
        if self.trainer.is_global_zero and not self.trainer.sanity_checking and self.sample_prompts:
            self.write_samples(f"epoch {self.current_epoch} (val/loss {loss:.4f})")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test")

    # -- samples ---------------------------------------------------------------------------------------------
    def samples(self, tokenizer) -> list[str]:
        """One continuation per prompt, seeded and on a forked random state, so training is left untouched."""
        generator = TextGenerator(self.net, tokenizer)
        options = GenerationOptions(**self.sample_options)
        devices = [self.device] if self.device.type == "cuda" else []
        was_training = self.net.training
        with torch.random.fork_rng(devices=devices), torch.inference_mode():
            texts = [generator.generate(prompt, options)[0] for prompt in self.sample_prompts]
        self.net.train(was_training)
        return texts

    def append_samples(self, folder: Path, heading: str, tokenizer) -> Path:
        """Appends a sample of each prompt, under `heading`, to <folder>/samples.txt."""
        path = folder / SAMPLES_FILE
        folder.mkdir(parents=True, exist_ok=True)
        texts = self.samples(tokenizer)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"===== {heading} =====\n")
            for prompt, text in zip(self.sample_prompts, texts, strict=True):
                fh.write(f"--- prompt: {prompt!r}\n{text}\n\n")
        return path

    def write_samples(self, heading: str) -> Path | None:
        """Appends this epoch's samples to <run dir>/reports/samples.txt and logs the file, when the logger
        can log files (MLflow); the run's reports carry it at the end in any case."""
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is None or datamodule.tokenizer is None:
            return None
        reports = Path(self.trainer.default_root_dir) / "reports"
        path = self.append_samples(reports, heading, datamodule.tokenizer)
        log_file = getattr(self.logger, "log_file", None)
        if log_file is not None:
            log_file(path, "samples")
        return path

    # -- optimisation ---------------------------------------------------------------------------------------
    def configure_optimizers(self):
        return self.with_scheduler(self.optimizer_factory(params=weight_decay_groups(self)))

    def write_outputs(self, datamodule, run_dir):
        return write_language_model_outputs(self, datamodule, run_dir)


def check_sample_options(options: dict) -> None:
    """The per-epoch sample options, checked when the task is made rather than after the first epoch."""
    try:
        GenerationOptions(**options).check()
    except SeqlabError as err:  # the options are model.sample_<name> in the config
        raise SeqlabError(f"model.sample_{str(err).split('; ')[0]}") from None
