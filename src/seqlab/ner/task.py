"""spaCy named-entity recognition as a seqlab task (the _target_ of conf/model/spacy_ner.yaml), trained with
spaCy's own loop or scored as is; commands/train.py hands it the run through `SpacyNerTask.run`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from omegaconf import DictConfig, OmegaConf

from seqlab.config.checks import check_arguments
from seqlab.config.instantiate import instantiate
from seqlab.errors import SeqlabError
from seqlab.tracking.params import data_file_params

# spaCy (and seqlab.ner.runs, which loads it) is imported where used: config checks import this class
# (task_of, models_for) to read its task_name

DEFAULT_ROWS = (5000, 1000, 2500, 2500)
DEFAULT_ATTRS = ("NORM", "PREFIX", "SUFFIX", "SHAPE")
OPTIMIZED_METRIC = "val/ents_f"  # what run() returns: its best value over the evaluations on dev


@dataclass(frozen=True)
class TrainingBudget:
    """How long spaCy's loop trains: the first limit reached ends it (0, or None minutes: no limit)."""

    max_epochs: int  # passes over train
    max_steps: int  # updates
    max_minutes: float | None  # wall-clock; the best checkpoint so far is kept
    eval_frequency: int  # updates between evaluations on dev
    patience: int  # updates without a better val/ents_f before stopping; 0: never

    def __post_init__(self):
        for option in ("max_epochs", "max_steps", "patience"):
            if getattr(self, option) < 0:
                raise SeqlabError(f"model.{option}={getattr(self, option)} must be 0 (no limit) or more")
        if self.eval_frequency < 1:
            raise SeqlabError(f"model.eval_frequency={self.eval_frequency} must be at least 1")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise SeqlabError(f"model.max_minutes={self.max_minutes} must be positive, or null for no time "
                              "limit")


@dataclass(frozen=True)
class Optimization:
    """Dropout, batches (words, compounding from batch_size_start up to batch_size) and spaCy's Adam."""

    dropout: float
    batch_size: int
    batch_size_start: int
    learn_rate: float
    l2: float  # weight decay
    grad_clip: float  # gradient norm
    use_averages: bool  # keep a moving average of the weights and save it

    def __post_init__(self):
        for option in ("batch_size", "batch_size_start"):
            if getattr(self, option) < 1:
                raise SeqlabError(f"model.{option}={getattr(self, option)} must be at least 1")
        if not 0 <= self.dropout < 1:
            raise SeqlabError(f"model.dropout={self.dropout} must lie in [0, 1)")
        if self.learn_rate <= 0:
            raise SeqlabError(f"model.learn_rate={self.learn_rate} must be positive")


@dataclass(frozen=True)
class BlankArchitecture:
    """The network of a blank pipeline (a pretrained one keeps its own): a tok2vec of hash embeddings
    (MultiHashEmbed, one row count per attribute) and a CNN encoder, under a transition-based ner."""

    width: int
    depth: int  # CNN layers of the encoder
    window_size: int  # words on each side each layer sees
    embed_rows: tuple[int, ...]
    embed_attrs: tuple[str, ...]
    hidden_width: int  # hidden layer of the ner

    @classmethod
    def checked(cls, width: int, depth: int, window_size: int, embed_rows, embed_attrs,
                hidden_width: int) -> BlankArchitecture:
        """From the config's values: embed_rows and embed_attrs must be lists (None: the defaults)."""
        for option, value, default in (("embed_rows", embed_rows, DEFAULT_ROWS),
                                       ("embed_attrs", embed_attrs, DEFAULT_ATTRS)):
            if value is not None and (isinstance(value, str) or not isinstance(value, Sequence)):
                raise SeqlabError(f"model.{option}={value!r} must be a list, one entry per embedded "
                                  f"attribute, e.g. model.{option}='{list(default)}'")
        return cls(width, depth, window_size, tuple(embed_rows or DEFAULT_ROWS),
                   tuple(str(a) for a in (embed_attrs or DEFAULT_ATTRS)), hidden_width)

    def __post_init__(self):
        for option in ("width", "depth", "hidden_width"):
            if getattr(self, option) < 1:
                raise SeqlabError(f"model.{option}={getattr(self, option)} must be at least 1")
        if not all(isinstance(r, int) and not isinstance(r, bool) and r >= 1 for r in self.embed_rows):
            raise SeqlabError(f"model.embed_rows={list(self.embed_rows)} must hold whole numbers of at least "
                              "1 (rows of each attribute's hash embedding)")
        if len(self.embed_rows) != len(self.embed_attrs):
            raise SeqlabError(f"model.embed_rows has {len(self.embed_rows)} entries and model.embed_attrs "
                              f"{len(self.embed_attrs)}: give one row count per attribute")
        _check_attrs(list(self.embed_attrs))


class SpacyNerTask:
    """Train a recognizer from a blank pipeline, fine-tune the ner of a pretrained one, or score a pretrained
    one as is (zero-shot, through label_map); every figure and file goes to the run's tracker.

    The constructor takes the flat model.* keys of conf/model/spacy_ner.yaml (they are the logged params and
    the names users override) and groups them: `budget`, `optimization` and `architecture`."""

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
        # TrainingBudget
        max_epochs: int = 30,
        max_steps: int = 0,
        max_minutes: float | None = None,
        eval_frequency: int = 200,
        patience: int = 1000,
        # Optimization
        dropout: float = 0.2,
        batch_size: int = 1000,
        batch_size_start: int = 100,
        learn_rate: float = 0.001,
        l2: float = 0.01,
        grad_clip: float = 1.0,
        use_averages: bool = True,
        # BlankArchitecture
        width: int = 96,
        depth: int = 4,
        window_size: int = 1,
        embed_rows: list | None = None,
        embed_attrs: list | None = None,
        hidden_width: int = 64,
    ):
        if not train and init != "pretrained":
            raise SeqlabError("model.train=false scores a pretrained pipeline as is: set "
                              "model.init=pretrained")
        if train and max_epochs <= 0 and max_steps <= 0 and not max_minutes:
            raise SeqlabError("training would never end: set model.max_epochs, model.max_steps or "
                              "model.max_minutes")
        self.budget = TrainingBudget(max_epochs, max_steps, max_minutes, eval_frequency, patience)
        self.optimization = Optimization(dropout, batch_size, batch_size_start, learn_rate, l2, grad_clip,
                                         use_averages)
        if label_map is not None and not isinstance(label_map, Mapping):
            raise SeqlabError(f"model.label_map={label_map!r} must map pipeline labels to dataset labels, "
                              "e.g. model.label_map='{PERSON: person, ORG: corporation}'")
        if label_map and train:
            raise SeqlabError("model.label_map is used only to score a pretrained pipeline as is "
                              "(model.train=false); a trained recognizer learns the dataset's labels: remove "
                              "model.label_map")
        self.architecture = BlankArchitecture.checked(width, depth, window_size, embed_rows, embed_attrs,
                                                      hidden_width)
        if init == "blank":
            _check_language(lang)
        self.name, self.init, self.train, self.pipeline, self.lang = name, init, train, pipeline, lang
        self.label_map = {str(k): str(v) for k, v in label_map.items()} if label_map else None
        self.gold_tokens = gold_tokens

    @classmethod
    def run(cls, cfg: DictConfig, tracker, run_dir: Path) -> float:
        """One NER run: returns the best val/ents_f (the value sweeps optimize)."""
        from seqlab.ner import runs

        if (cfg.optimized_metric, cfg.optimized_mode) != (OPTIMIZED_METRIC, "max"):
            raise SeqlabError(
                f"optimized_metric={cfg.optimized_metric} (optimized_mode={cfg.optimized_mode}) is not what "
                f"an NER run returns: it returns the best {OPTIMIZED_METRIC}, to maximize; set "
                f"optimized_metric={OPTIMIZED_METRIC} optimized_mode=max (dataset=wnut17 and "
                "dataset=ner_files set them)"
            )
        check_arguments(cfg.model, "model")
        task = instantiate(cfg.model)
        dataset = instantiate(cfg.dataset)
        dataset.prepare_data()
        tracker.log_params(data_file_params(dataset))
        OmegaConf.save(cfg, run_dir / "config.yaml", resolve=True)
        tracker.log_artifact(run_dir / "config.yaml")
        if task.train:
            return runs.fit_and_test(task, cfg, dataset, tracker, run_dir)
        return runs.score_pretrained(task, cfg, dataset, tracker, run_dir)


def _check_language(lang: str) -> None:
    import spacy.util

    try:
        spacy.util.get_lang_class(lang)
    except ImportError:
        raise SeqlabError(f"model.lang={lang!r} is not a language spaCy knows; give its code (en, de, fr, "
                          "...; the folders of spacy/lang)") from None


def _check_attrs(attrs: list[str]) -> None:
    from spacy.attrs import IDS

    unknown = [a for a in attrs if a not in IDS]
    if unknown:
        raise SeqlabError(f"model.embed_attrs has {unknown}, which spaCy does not know; token attributes "
                          "such as NORM, LOWER, ORTH, PREFIX, SUFFIX, SHAPE")
