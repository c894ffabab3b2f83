"""Label texts with a finished run (MLflow) or a checkpoint, printing label and probability per text."""

from __future__ import annotations

from omegaconf import DictConfig

from seqlab.data.readers import read_utf8_lines
from seqlab.errors import SeqlabError


def collect_texts(cfg: DictConfig) -> list[str]:
    texts = ([str(cfg.text)] if cfg.text is not None else []) + [str(t) for t in cfg.texts]
    if cfg.file:
        texts += [line for line in read_utf8_lines(cfg.file) if line.strip()]
    if not texts:
        raise SeqlabError('nothing to classify: pass text="...", texts=\'["...", "..."]\' or file=<path>')
    return texts


def predict(cfg: DictConfig) -> list[dict]:
    texts = collect_texts(cfg)
    if bool(cfg.run_id) == bool(cfg.checkpoint):
        raise SeqlabError("pass exactly one of run_id=<MLflow run id> or checkpoint=<path to .ckpt>")
    if cfg.checkpoint:
        from seqlab.inference.text_classifier import TextClassifier

        results = TextClassifier.from_checkpoint(cfg.checkpoint).predict(texts)
    else:
        from seqlab.tracking.model_loading import load_run_model

        results = load_run_model(cfg.tracking_uri, cfg.run_id).predict(texts).to_dict("records")
    for row in results:
        print(f"{row['label']}\t{row['probability']:.4f}\t{row['text']}")
    return results
