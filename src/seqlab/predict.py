"""Label texts with a finished run (MLflow) or a checkpoint, printing label and probability per text."""

from __future__ import annotations

from omegaconf import DictConfig

from seqlab.errors import SeqlabError
from seqlab.input_texts import input_texts


def predict(cfg: DictConfig) -> list[dict]:
    texts = input_texts(cfg, "classify")
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
