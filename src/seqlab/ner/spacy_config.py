"""The spaCy training config of an NER run, generated from its model.* values."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from spacy.cli.init_config import init_config
from thinc.api import Config

from seqlab.pretrained.spacy_pipelines import load_ner_pipeline, pipeline_path


@dataclass(frozen=True)
class Pretrained:
    name: str
    path: str                    # what spacy.load accepts
    lang: str
    sourced: tuple[str, ...]     # components taken from it: ner, and what ner listens to
    has_vectors: bool
    labels: tuple[str, ...]      # its ner's labels


def inspect_pretrained(name: str) -> Pretrained:
    nlp = load_ner_pipeline(name)
    upstream = [n for n, proc in nlp.pipeline if "ner" in getattr(proc, "listening_components", [])]
    return Pretrained(name, pipeline_path(name), nlp.lang, (*upstream, "ner"), nlp.vocab.vectors.shape[0] > 0,
                      tuple(nlp.get_pipe("ner").labels))


def build_config(task, *, train: Path, dev: Path, seed: int, lang: str, pretrained: Pretrained | None):
    """A thinc Config for spacy.training: `task` is the SpacyNerTask holding the model.* values.

    The base is spaCy's own quickstart config (`spacy init config --pipeline ner`, CPU, efficiency); the
    task's values fill in training length, dropout, batches, optimizer, network sizes and data paths. For a
    pretrained pipeline the ner component (and the tok2vec it listens to, if any) is sourced from it and its
    training resumed, and its tokenizer and vocab (with its norm table) are copied in before initialization,
    so that the sourced weights see the features they were trained on."""
    budget, optimization, architecture = task.budget, task.optimization, task.architecture
    config = init_config(lang=lang, pipeline=["ner"], optimize="efficiency", gpu=False, silent=True)
    config["paths"].update(train=str(train), dev=str(dev))
    config["system"]["seed"] = seed
    for corpus in ("train", "dev"):
        config["corpora"][corpus]["gold_preproc"] = task.gold_tokens
    training = config["training"]
    training.update(dropout=optimization.dropout, patience=budget.patience, max_epochs=budget.max_epochs,
                    max_steps=budget.max_steps, eval_frequency=budget.eval_frequency)
    training["optimizer"].update(learn_rate=optimization.learn_rate, L2=optimization.l2,
                                 grad_clip=optimization.grad_clip, use_averages=optimization.use_averages)
    training["batcher"]["size"].update(start=min(optimization.batch_size_start, optimization.batch_size),
                                       stop=optimization.batch_size)
    training["logger"] = {"@loggers": "seqlab.TrackerLogger.v1", "progress_bar": False}
    if budget.max_minutes:
        training["before_update"] = {"@callbacks": "seqlab.time_limit.v1",
                                     "minutes": float(budget.max_minutes)}
    training["score_weights"] = {"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None}
    if pretrained is None:
        tok2vec = config["components"]["tok2vec"]["model"]
        tok2vec["encode"].update(width=architecture.width, depth=architecture.depth,
                                 window_size=architecture.window_size)
        tok2vec["embed"]["width"] = architecture.width
        tok2vec["embed"]["rows"] = list(architecture.embed_rows)
        tok2vec["embed"]["attrs"] = list(architecture.embed_attrs)
        config["components"]["ner"]["model"]["hidden_width"] = architecture.hidden_width
        config["components"]["ner"]["model"]["tok2vec"]["width"] = architecture.width
    else:
        config["nlp"]["lang"] = pretrained.lang
        config["nlp"]["pipeline"] = list(pretrained.sourced)
        config["components"] = {name: {"source": pretrained.path} for name in pretrained.sourced}
        config["initialize"]["before_init"] = {
            "@callbacks": "spacy.copy_from_base_model.v1", "tokenizer": pretrained.path,
            "vocab": pretrained.path,
        }
        if pretrained.has_vectors:
            config["paths"]["vectors"] = pretrained.path  # [initialize] vectors = ${paths.vectors}
    return Config().from_str(config.to_str())
