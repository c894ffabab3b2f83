"""The spaCy training config of a run, generated from its Hydra values.

The base is spaCy's own quickstart config (`spacy init config --pipeline ner`, CPU, efficiency); the Hydra
values fill in training length, dropout, batches, optimizer, network sizes and data paths. For `init: pretrained`
the ner component (and the tok2vec it listens to, if any) is sourced from the pretrained pipeline and its
training resumed, and the pipeline's tokenizer and vocab (with its norm table) are copied in before
initialization, so that the sourced weights see the features they were trained on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Pretrained:
    name: str
    path: str                    # what spacy.load accepts
    lang: str
    sourced: tuple[str, ...]     # components taken from it: ner, and what ner listens to
    has_vectors: bool
    labels: tuple[str, ...]      # its ner's labels


def inspect_pretrained(name: str) -> Pretrained:
    from seqlab.pretrained.spacy_pipelines import load_ner_pipeline, pipeline_path

    nlp = load_ner_pipeline(name)
    upstream = [n for n, proc in nlp.pipeline if "ner" in getattr(proc, "listening_components", [])]
    return Pretrained(name, pipeline_path(name), nlp.lang, (*upstream, "ner"), nlp.vocab.vectors.shape[0] > 0,
                      tuple(nlp.get_pipe("ner").labels))


def build_config(task, *, train: Path, dev: Path, seed: int, lang: str, pretrained: Pretrained | None):
    """A thinc Config for spacy.training: `task` is the SpacyNerTask holding the model.* values."""
    from spacy.cli.init_config import init_config
    from thinc.api import Config

    config = init_config(lang=lang, pipeline=["ner"], optimize="efficiency", gpu=False, silent=True)
    config["paths"].update(train=str(train), dev=str(dev))
    config["system"]["seed"] = seed
    for corpus in ("train", "dev"):
        config["corpora"][corpus]["gold_preproc"] = task.gold_tokens
    training = config["training"]
    training.update(dropout=task.dropout, patience=task.patience, max_epochs=task.max_epochs,
                    max_steps=task.max_steps, eval_frequency=task.eval_frequency)
    training["optimizer"].update(learn_rate=task.learn_rate, L2=task.l2, grad_clip=task.grad_clip,
                                 use_averages=task.use_averages)
    training["batcher"]["size"].update(start=min(task.batch_size_start, task.batch_size), stop=task.batch_size)
    training["logger"] = {"@loggers": "seqlab.TrackerLogger.v1", "progress_bar": False}
    if task.max_minutes:
        training["before_update"] = {"@callbacks": "seqlab.time_limit.v1", "minutes": float(task.max_minutes)}
    training["score_weights"] = {"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None}
    if pretrained is None:
        tok2vec = config["components"]["tok2vec"]["model"]
        tok2vec["encode"].update(width=task.width, depth=task.depth, window_size=task.window_size)
        tok2vec["embed"]["width"] = task.width
        tok2vec["embed"]["rows"] = list(task.embed_rows)
        tok2vec["embed"]["attrs"] = list(task.embed_attrs)
        config["components"]["ner"]["model"]["hidden_width"] = task.hidden_width
        config["components"]["ner"]["model"]["tok2vec"]["width"] = task.width
    else:
        config["nlp"]["lang"] = pretrained.lang
        config["nlp"]["pipeline"] = list(pretrained.sourced)
        config["components"] = {name: {"source": pretrained.path} for name in pretrained.sourced}
        config["initialize"]["before_init"] = {
            "@callbacks": "spacy.copy_from_base_model.v1", "tokenizer": pretrained.path, "vocab": pretrained.path,
        }
        if pretrained.has_vectors:
            config["paths"]["vectors"] = pretrained.path  # [initialize] vectors = ${paths.vectors}
    return Config().from_str(config.to_str())
