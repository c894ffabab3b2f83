"""The outputs of a finished language-model run: reports (the samples) and the model with its tokenizer."""

from __future__ import annotations

from pathlib import Path

from seqlab.inference.text_generator import TextGenerator
from seqlab.tasks.model_card import model_card
from seqlab.tasks.outputs import ModelKind, RunOutputs


def write_language_model_outputs(task, datamodule, run_dir: Path) -> RunOutputs:
    """Reports into <run_dir>/reports (samples.txt: the samples of every epoch and of the final, best model),
    the model into <run_dir>/model (a folder that from_pretrained, for GPT-2, or `make generate` loads back),
    the tokenizer alone into <run_dir>/tokenizer."""
    folder, bundle, tokenizer_dir = run_dir / "reports", run_dir / "model", run_dir / "tokenizer"
    folder.mkdir(parents=True, exist_ok=True)
    net = task.cpu().net
    if task.sample_prompts:
        task.append_samples(folder, "final model (the best checkpoint)", datamodule.tokenizer)
    TextGenerator(net, datamodule.tokenizer).save_pretrained(bundle, model_card(task, datamodule))
    datamodule.tokenizer.save_pretrained(tokenizer_dir)
    return RunOutputs(reports=folder, model_dir=bundle, model_kind=ModelKind.LANGUAGE_MODEL,
                      extra={"tokenizer": tokenizer_dir}, examples=list(task.sample_prompts))
