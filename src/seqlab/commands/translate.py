"""`make translate`: translate texts with a run, a registered model or a checkpoint, a line per input line."""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig

from seqlab.commands.input_texts import input_texts
from seqlab.errors import SeqlabError
from seqlab.inference.translator import Translator
from seqlab.tracking.model_loading import load_run_predictor
from seqlab.tracking.registry import chosen_run


def load_translator(cfg: DictConfig):
    if bool(cfg.run_id or cfg.model_uri) == bool(cfg.checkpoint):
        raise SeqlabError("pass exactly one of run_id=<MLflow run id>, model=models:/<name>@<alias> or "
                          "checkpoint=<path to .ckpt>")
    if cfg.checkpoint:
        return Translator.from_checkpoint(Path(cfg.checkpoint).expanduser())
    run_id = chosen_run(cfg.tracking_uri, cfg.run_id, cfg.model_uri)
    return load_run_predictor(cfg.tracking_uri, run_id, "translator",
                              "translator; pass the run id of a translation run")


def translate(cfg: DictConfig) -> list[str]:
    """The translations, printed; with heatmaps=<folder>, each sentence's attention heatmap saved there."""
    lines = input_texts(cfg, "translate", keep_empty_lines=True)
    translator = load_translator(cfg)
    if cfg.heatmaps and not translator.has_attention:
        raise SeqlabError("this model has no attention (model.net.attention=none): it has no heatmaps to "
                          "save; drop heatmaps=")
    translations = translator.translate(lines, beam_size=cfg.beam_size, length_penalty=cfg.length_penalty)
    outputs = [t.text for t in translations]  # an empty line for an empty line
    for text in outputs:
        print(text)
    cut, given = sum(t.truncated for t in translations), sum(bool(t.source) for t in translations)
    if cut:
        limit = translator.decoding["max_length"]
        print(f"{cut} of {given} input line(s) were longer than the model's max_length of {limit} tokens: "
              f"only their first {limit} tokens were translated", file=sys.stderr)
    if cfg.heatmaps:
        from seqlab.tasks.translation_outputs import write_heatmaps  # plotting libraries: only when asked

        paths = write_heatmaps(translations, Path(cfg.heatmaps).expanduser())
        print(f"{len(paths)} attention heatmap(s) in {Path(cfg.heatmaps).expanduser()}", file=sys.stderr)
    return outputs
