"""Label texts with a finished run (MLflow) or a checkpoint, printing label and probability per text; with
attention=<folder>, a fine-tuned transformers classifier also draws its attention over each text there."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from seqlab.errors import SeqlabError
from seqlab.input_texts import input_texts


def predict(cfg: DictConfig) -> list[dict]:
    texts = input_texts(cfg, "classify")
    if bool(cfg.run_id) == bool(cfg.checkpoint):
        raise SeqlabError("pass exactly one of run_id=<MLflow run id> or checkpoint=<path to .ckpt>")
    if cfg.get("attention") and not cfg.run_id:
        raise SeqlabError("attention=<folder> draws the attention of a run's model: pass run_id=<MLflow run id>")
    if cfg.checkpoint:
        from seqlab.inference.text_classifier import TextClassifier

        results = TextClassifier.from_checkpoint(cfg.checkpoint).predict(texts)
    else:
        from seqlab.tracking.model_loading import load_run_model

        model = load_run_model(cfg.tracking_uri, cfg.run_id)
        results = model.predict(texts).to_dict("records")
        if cfg.get("attention"):
            write_attention(model.unwrap_python_model().classifier, texts, Path(str(cfg.attention)), cfg.run_id)
    for row in results:
        print(f"{row['label']}\t{row['probability']:.4f}\t{row['text']}")
    return results


def write_attention(classifier, texts: list[str], folder: Path, run_id: str) -> None:
    from seqlab.inference.pretrained_text_classifier import PretrainedTextClassifier

    if not isinstance(classifier, PretrainedTextClassifier):
        raise SeqlabError(f"attention=: run {run_id} trained a {type(classifier.net).__name__}, which has no "
                          "attention maps to draw; give a run of model=pretrained_classifier "
                          "(experiment=sentiment_finetune)")
    for path in classifier.attention_maps(texts, folder.expanduser()):
        print(f"attention map: {path}")
