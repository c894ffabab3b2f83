"""The outputs of a finished classification run: reports (confusion matrix, test predictions, attention
maps) and the model bundle."""

from __future__ import annotations

import csv
from pathlib import Path

from seqlab.data.batching import pad_sequences
from seqlab.data.word_tokenizer import PAD, encode_texts
from seqlab.inference.pretrained_text_classifier import PretrainedTextClassifier
from seqlab.inference.text_classifier import TextClassifier
from seqlab.reports.plots import attention_heatmap_png, confusion_matrix_png
from seqlab.tasks.model_card import model_card
from seqlab.tasks.outputs import ModelKind, RunOutputs


def write_classification_outputs(task, datamodule, run_dir: Path) -> RunOutputs:
    """Reports into <run_dir>/reports: confusion matrix, test predictions, attention maps of a few dev
    sentences (a fine-tuned transformers encoder, or a net that returns its attention weights); the model
    bundle (the net saved the Hugging Face way with its model card, tokenizer, labels) into
    <run_dir>/model."""
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
            sentences = datamodule.texts("val")[: task.attention_sentences]
            classifier.attention_maps(sentences, folder / "attention")
        return RunOutputs(reports=folder, model_dir=bundle, model_kind=ModelKind.PRETRAINED_TEXT_CLASSIFIER,
                          examples=texts)
    if hasattr(task.net, "attention_weights") and task.attention_sentences > 0:
        sentences = datamodule.texts("val")[: task.attention_sentences]
        write_attention_maps(task.net.cpu().eval(), datamodule.tokenizer, sentences, folder / "attention")
    classifier = TextClassifier(task.net.cpu(), datamodule.tokenizer, labels)
    classifier.save_bundle(bundle, model_card(task, datamodule))
    return RunOutputs(
        reports=folder, model_dir=bundle, model_kind=ModelKind.TEXT_CLASSIFIER,
        extra={"tokenizer": bundle / "tokenizer.json"},
        examples=texts,
    )


def write_attention_maps(net, tokenizer, texts: list[str], folder: Path) -> list[Path]:
    """<folder>/<NN>/layer<L>_head<H>.png for the NN-th text: each layer's self-attention per head, queries
    down y and keys along x (a CLS vector the net puts first shows as <cls>)."""
    encoded = encode_texts(tokenizer, texts)
    ids, mask = pad_sequences(encoded, tokenizer.token_to_id(PAD))
    layers = net.attention_weights(ids, mask)  # each [B, heads, T', T']
    paths = []
    for row, (text, sentence) in enumerate(zip(texts, encoded, strict=True)):
        extra = layers[0].size(-1) - ids.size(1)  # vectors the net puts before the words
        tokens = ["<cls>"] * extra + [tokenizer.id_to_token(i) for i in sentence]
        width = len(tokens)
        sub = folder / f"{row + 1:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        for layer, weights in enumerate(layers, start=1):
            for head in range(weights.size(1)):
                path = sub / f"layer{layer}_head{head + 1}.png"
                attention_heatmap_png(weights[row, head, :width, :width], tokens, tokens, path,
                                      f"layer {layer}, head {head + 1}: {text}", axes=("key", "query"))
                paths.append(path)
    return paths
