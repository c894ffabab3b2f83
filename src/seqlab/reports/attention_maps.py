"""Where a fine-tuned transformers encoder looks: its self-attention weights for a few texts, drawn per
layer."""

from __future__ import annotations

from pathlib import Path

import torch

from seqlab.errors import SeqlabError
from seqlab.models.pretrained_classifier import eager_attention
from seqlab.reports.plots import self_attention_heads_png


def encoder_attentions(model, tokenizer, texts: list[str], max_tokens: int = 32):
    """The texts as one batch padded to the longest (each cut at `max_tokens` word pieces, special tokens
    included, before the model reads it) and, per layer, the model's attention weights [texts, heads, queries,
    keys] on CPU, for any encoder PreTrainedModel (AutoModel, BertForSequenceClassification,
    BertForTokenClassification, ...) with its tokenizer.

    Returns (weights per layer, the tokenizer's batch: input_ids and attention_mask on CPU). Each query row
    sums to one over the text's own tokens; the keys that are padding get weight zero. SDPA and flash
    attention compute no weights, so the model runs with eager attention for this call only; its own attention
    implementation and train/eval mode are put back afterwards.
    """
    batch = tokenizer(texts, padding=True, truncation=True, max_length=max_tokens, return_tensors="pt")
    was_training = model.training
    model.eval()
    try:
        with eager_attention(model), torch.no_grad():
            inputs = {key: value.to(model.device) for key, value in batch.items()}
            output = model(**inputs, output_attentions=True)
    finally:
        model.train(was_training)
    if not output.attentions:
        raise SeqlabError(f"{type(model).__name__} returned no attention weights: attention maps need an "
                          "encoder whose attention can run eager (BERT, RoBERTa, DistilBERT, MiniLM, ...)")
    return [layer.float().cpu() for layer in output.attentions], batch


def write_attention_maps(model, tokenizer, texts: list[str], folder: Path,
                         max_tokens: int = 32) -> list[Path]:
    """One PNG per text and layer in `folder`: attention-<text>-layer<layer>.png, both numbered from 01 (the
    first text's first layer is attention-01-layer01.png), each a grid of the layer's heads, four to a row.
    Each head is a heatmap over the text's word pieces (padding removed, the text cut at `max_tokens` word
    pieces): the keys along x, the queries down y, so row i shows where token i looks. Returns the paths
    written, text by text."""
    if not texts:
        return []
    Path(folder).mkdir(parents=True, exist_ok=True)
    layers, batch = encoder_attentions(model, tokenizer, texts, max_tokens)
    paths = []
    for index, text in enumerate(texts):
        own = batch["attention_mask"][index].bool()
        tokens = tokenizer.convert_ids_to_tokens(batch["input_ids"][index][own].tolist())
        for number, layer in enumerate(layers, start=1):
            path = Path(folder) / f"attention-{index + 1:02d}-layer{number:02d}.png"
            heads = layer[index][:, own][:, :, own]
            paths.append(self_attention_heads_png(heads, tokens, path, f"layer {number}: {text}"))
    return paths
