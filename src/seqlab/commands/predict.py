"""`make predict`: label texts with a classifier from a run, a registered model or a checkpoint."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from seqlab.commands.input_texts import input_texts
from seqlab.errors import SeqlabError
from seqlab.inference.text_classifier import TextClassifier
from seqlab.tracking.model_loading import load_run_predictor
from seqlab.tracking.registry import chosen_run


def predict(cfg: DictConfig) -> list[dict]:
    """Label and probability per text, printed; with attention=<folder>, a fine-tuned transformers classifier
    also draws its attention over each text there."""
    texts = input_texts(cfg, "classify")
    if bool(cfg.run_id or cfg.model_uri) == bool(cfg.checkpoint):
        raise SeqlabError("pass exactly one of run_id=<MLflow run id>, model=models:/<name>@<alias> or "
                          "checkpoint=<path to .ckpt>")
    if cfg.get("attention") and cfg.checkpoint:
        raise SeqlabError("attention=<folder> draws the attention of a run's model: pass run_id=<MLflow run "
                          "id>")
    if cfg.checkpoint:
        results = TextClassifier.from_checkpoint(cfg.checkpoint).predict(texts)
    else:
        run_id = chosen_run(cfg.tracking_uri, cfg.run_id, cfg.model_uri)
        classifier = load_run_predictor(cfg.tracking_uri, run_id, "classifier",
                                        "text classifier; pass the run id of a classification run")
        results = classifier.predict(texts)
        if cfg.get("attention"):
            write_attention(classifier, texts, Path(str(cfg.attention)), run_id)
    for row in results:
        print(f"{row['label']}\t{row['probability']:.4f}\t{row['text']}")
    return results


def write_attention(classifier, texts: list[str], folder: Path, run_id: str) -> None:
    # transformers, imported only when attention is asked for: predicting with a plain classifier needs none
    from seqlab.inference.pretrained_text_classifier import PretrainedTextClassifier

    if not isinstance(classifier, PretrainedTextClassifier):
        raise SeqlabError(f"attention=: run {run_id} trained a {type(classifier.net).__name__}, which has no "
                          "attention maps to draw; give a run of model=pretrained_classifier "
                          "(experiment=sentiment_finetune)")
    for path in classifier.attention_maps(texts, folder.expanduser()):
        print(f"attention map: {path}")
