"""spaCy named-entity recognition as a seqlab task (cfg.model._target_): train a recognizer from a blank pipeline
or fine-tune a pretrained one with spaCy's own loop, or score a pretrained one as is (zero-shot, through a label
map); every figure and file goes to the run's tracker. pipelines/train.py dispatches here through `run`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from omegaconf import DictConfig, OmegaConf

from seqlab.errors import SeqlabError

DEFAULT_ROWS = (5000, 1000, 2500, 2500)
DEFAULT_ATTRS = ("NORM", "PREFIX", "SUFFIX", "SHAPE")
OPTIMIZED_METRIC = "val/ents_f"  # what run() returns: its best value over the evaluations on dev


class SpacyNerTask:
    task_name = "ner"

    def __init__(
        self,
        name: str = "spacy_ner",
        init: Literal["blank", "pretrained"] = "blank",
        train: bool = True,
        pipeline: str = "en_core_web_sm",
        lang: str = "en",
        label_map: dict | None = None,
        gold_tokens: bool = True,
        max_epochs: int = 30,
        max_steps: int = 0,
        max_minutes: float | None = None,
        eval_frequency: int = 200,
        patience: int = 1000,
        dropout: float = 0.2,
        batch_size: int = 1000,
        batch_size_start: int = 100,
        learn_rate: float = 0.001,
        l2: float = 0.01,
        grad_clip: float = 1.0,
        use_averages: bool = True,
        width: int = 96,
        depth: int = 4,
        window_size: int = 1,
        embed_rows: list | None = None,
        embed_attrs: list | None = None,
        hidden_width: int = 64,
    ):
        if not train and init != "pretrained":
            raise SeqlabError("model.train=false scores a pretrained pipeline as is: set model.init=pretrained")
        if train and max_epochs <= 0 and max_steps <= 0 and not max_minutes:
            raise SeqlabError("training would never end: set model.max_epochs, model.max_steps or model.max_minutes")
        for option, value in (("max_epochs", max_epochs), ("max_steps", max_steps), ("patience", patience)):
            if value < 0:
                raise SeqlabError(f"model.{option}={value} must be 0 (no limit) or more")
        for option, value in (("eval_frequency", eval_frequency), ("batch_size", batch_size),
                              ("batch_size_start", batch_size_start), ("width", width), ("depth", depth),
                              ("hidden_width", hidden_width)):
            if value < 1:
                raise SeqlabError(f"model.{option}={value} must be at least 1")
        if not 0 <= dropout < 1:
            raise SeqlabError(f"model.dropout={dropout} must lie in [0, 1)")
        if learn_rate <= 0:
            raise SeqlabError(f"model.learn_rate={learn_rate} must be positive")
        if max_minutes is not None and max_minutes <= 0:
            raise SeqlabError(f"model.max_minutes={max_minutes} must be positive, or null for no time limit")
        if label_map is not None and not isinstance(label_map, Mapping):
            raise SeqlabError(f"model.label_map={label_map!r} must map pipeline labels to dataset labels, e.g. "
                              "model.label_map='{PERSON: person, ORG: corporation}'")
        if label_map and train:
            raise SeqlabError("model.label_map is used only to score a pretrained pipeline as is (model.train=false); "
                              "a trained recognizer learns the dataset's labels: remove model.label_map")
        for option, value, default in (("embed_rows", embed_rows, DEFAULT_ROWS),
                                       ("embed_attrs", embed_attrs, DEFAULT_ATTRS)):
            if value is not None and (isinstance(value, str) or not isinstance(value, Sequence)):
                raise SeqlabError(f"model.{option}={value!r} must be a list, one entry per embedded attribute, "
                                  f"e.g. model.{option}='{list(default)}'")
        if init == "blank":
            _check_language(lang)
        self.name, self.init, self.train, self.pipeline, self.lang = name, init, train, pipeline, lang
        self.label_map = {str(k): str(v) for k, v in label_map.items()} if label_map else None
        self.gold_tokens = gold_tokens
        self.max_epochs, self.max_steps, self.max_minutes = max_epochs, max_steps, max_minutes
        self.eval_frequency, self.patience, self.dropout = eval_frequency, patience, dropout
        self.batch_size, self.batch_size_start = batch_size, batch_size_start
        self.learn_rate, self.l2, self.grad_clip, self.use_averages = learn_rate, l2, grad_clip, use_averages
        self.width, self.depth, self.window_size, self.hidden_width = width, depth, window_size, hidden_width
        self.embed_rows = list(embed_rows or DEFAULT_ROWS)
        if not all(isinstance(r, int) and not isinstance(r, bool) and r >= 1 for r in self.embed_rows):
            raise SeqlabError(f"model.embed_rows={self.embed_rows} must hold whole numbers of at least 1 (rows of "
                              "each attribute's hash embedding)")
        self.embed_attrs = [str(a) for a in (embed_attrs or DEFAULT_ATTRS)]
        if len(self.embed_rows) != len(self.embed_attrs):
            raise SeqlabError(f"model.embed_rows has {len(self.embed_rows)} entries and model.embed_attrs "
                              f"{len(self.embed_attrs)}: give one row count per attribute")
        _check_attrs(self.embed_attrs)

    @classmethod
    def run(cls, cfg: DictConfig, tracker, run_dir: Path) -> float:
        """One NER run: returns the best val/ents_f (the value sweeps optimize)."""
        from seqlab.config.checks import check_arguments
        from seqlab.config.instantiate import instantiate
        from seqlab.tracking.params import data_file_params

        if (cfg.optimized_metric, cfg.optimized_mode) != (OPTIMIZED_METRIC, "max"):
            raise SeqlabError(
                f"optimized_metric={cfg.optimized_metric} (optimized_mode={cfg.optimized_mode}) is not what an NER "
                f"run returns: it returns the best {OPTIMIZED_METRIC}, to maximize; set optimized_metric="
                f"{OPTIMIZED_METRIC} optimized_mode=max (dataset=wnut17 and dataset=ner_files set them)"
            )
        check_arguments(cfg.model, "model")
        task = instantiate(cfg.model)
        dataset = instantiate(cfg.dataset)
        dataset.prepare_data()
        tracker.log_params(data_file_params(dataset))
        OmegaConf.save(cfg, run_dir / "config.yaml", resolve=True)
        tracker.log_artifact(run_dir / "config.yaml")
        from seqlab.ner import runs

        if task.train:
            return runs.fit_and_test(task, cfg, dataset, tracker, run_dir)
        return runs.score_pretrained(task, cfg, dataset, tracker, run_dir)


def _check_language(lang: str) -> None:
    import spacy.util

    try:
        spacy.util.get_lang_class(lang)
    except ImportError:
        raise SeqlabError(f"model.lang={lang!r} is not a language spaCy knows; give its code (en, de, fr, ...; "
                          "the folders of spacy/lang)") from None


def _check_attrs(attrs: list[str]) -> None:
    from spacy.attrs import IDS

    unknown = [a for a in attrs if a not in IDS]
    if unknown:
        raise SeqlabError(f"model.embed_attrs has {unknown}, which spaCy does not know; token attributes such as "
                          "NORM, LOWER, ORTH, PREFIX, SUFFIX, SHAPE")
