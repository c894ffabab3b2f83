"""Files that explain a finished classification run: confusion matrix, test predictions, the model bundle (and, for
a fine-tuned transformers encoder, attention maps of a few dev sentences)."""

from __future__ import annotations

import csv
from pathlib import Path

from seqlab.inference.pretrained_text_classifier import PretrainedTextClassifier
from seqlab.inference.text_classifier import TextClassifier
from seqlab.tasks.outputs import RunOutputs
from seqlab.tracking.plots import confusion_matrix_png


def write_classification_outputs(task, datamodule, run_dir: Path) -> RunOutputs:
    """Reports into <run_dir>/reports, the model bundle (net, weights, tokenizer, labels) into <run_dir>/model."""
    folder, bundle = run_dir / "reports", run_dir / "model"
    folder.mkdir(parents=True, exist_ok=True)
    labels = datamodule.display_labels
    confusion_matrix_png(task.test_confusion.tolist(), labels, folder / "confusion_matrix.png")
    texts = datamodule.texts("test")
    with open(folder / "predictions.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "gold", "predicted", "probability"])
        for index, gold, predicted, probability in sorted(task.test_predictions):
            writer.writerow([texts[index], labels[gold], labels[predicted], f"{probability:.4f}"])
    if datamodule.pretrained:  # saved the Hugging Face way: mlflow:<run_id> fine-tunes from it again
        classifier = PretrainedTextClassifier(task.net.model.cpu(), datamodule.tokenizer)
        classifier.save_pretrained(bundle)
        if task.attention_sentences:
            classifier.attention_maps(datamodule.texts("val")[: task.attention_sentences], folder / "attention")
        return RunOutputs(reports=folder, model_dir=bundle, model_kind="text_classifier")
    TextClassifier(task.net.cpu(), task.net_config, datamodule.tokenizer, labels).save_bundle(bundle)
    return RunOutputs(
        reports=folder, model_dir=bundle, model_kind="text_classifier", extra={"tokenizer": bundle / "tokenizer.json"}
    )
