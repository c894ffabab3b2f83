"""A text classifier over any pretrained transformers encoder (AutoModelForSequenceClassification)."""

from __future__ import annotations

import re
from contextlib import contextmanager

import torch
from torch import nn

from seqlab.errors import SeqlabError

# transformers is imported where used: reports.attention_maps imports eager_attention from here for every
# classifier, plain-torch ones too

FREEZE_TARGETS = ("embeddings, first_<k>_layers (e.g. first_2_layers), encoder (all but the head: a linear "
                  "probe)")


class PretrainedClassifier(nn.Module):
    """The encoder's weights and a new classification head, all trained by default; parts can be frozen
    (embeddings, the first k layers, the whole encoder for a linear probe), and the learning rate can
    shrink layer by layer towards the embeddings. With from_scratch, the encoder's architecture and sizes
    (its config.json) with new random weights: the same model untrained, what pretraining is measured
    against. The transformers model is `self.model`: save_pretrained / from_pretrained work on it
    directly."""

    def __init__(
        self,
        labels: list[str],
        pretrained: str,
        freeze: list[str] | None = None,
        layer_lr_decay: float = 1.0,
        from_scratch: bool = False,
        tracking_uri: str | None = None,
    ):
        super().__init__()
        from seqlab.pretrained.transformers_models import load_config, load_sequence_classifier

        if not 0 < layer_lr_decay <= 1:
            raise SeqlabError(f"model.net.layer_lr_decay={layer_lr_decay} must lie in (0, 1]; 1: one rate "
                              "for all")
        self.layer_lr_decay = layer_lr_decay
        option = "model.net.pretrained"
        config = load_config(pretrained, option, tracking_uri)
        check_encoder(config, pretrained, labels)
        config.num_labels = len(labels)
        config.id2label = dict(enumerate(labels))
        config.label2id = {label: i for i, label in enumerate(labels)}
        if from_scratch:  # the config alone: every weight drawn anew (from the seeded global generator)
            from transformers import AutoModelForSequenceClassification

            self.model = AutoModelForSequenceClassification.from_config(config).train()
        else:
            self.model = load_sequence_classifier(pretrained, config, option, tracking_uri).train()
        self.layers = encoder_layers(self.model)
        for part in frozen_parts(self.model, self.layers, list(freeze or [])):
            part.requires_grad_(False)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, output_attentions: bool = False):
        """input_ids, attention_mask [B, T] -> logits [B, C]; with output_attentions, (logits, attentions: one
        [B, heads, T, T] per layer)."""
        if not output_attentions:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).logits
        with eager_attention(self.model):
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, output_attentions=True)
        return out.logits, out.attentions

    def parameter_groups(self, lr: float) -> list[dict]:
        """The trainable parameters in optimizer groups: layer i of n gets lr * layer_lr_decay ** (n - i), the
        embeddings lr * layer_lr_decay ** (n + 1), the head lr; biases and norms are not weight-decayed."""
        depth = {id(p): len(self.layers) - i for i, layer in enumerate(self.layers)
                 for p in layer.parameters()}
        embeddings = self.model.get_input_embeddings()
        embedding_ids = {id(p) for p in embedding_module(self.model, embeddings).parameters()}
        groups: dict[tuple[float, bool], list] = {}  # one group per rate and decay: two when the rate is one
        for p in self.parameters():
            if p.requires_grad:
                level = len(self.layers) + 1 if id(p) in embedding_ids else depth.get(id(p), 0)
                groups.setdefault((lr * self.layer_lr_decay**level, p.dim() >= 2), []).append(p)
        return [{"params": params, "lr": rate} | ({} if decayed else {"weight_decay": 0.0})
                for (rate, decayed), params in sorted(groups.items(),
                                                      key=lambda item: (-item[0][0], not item[0][1]))]


@contextmanager
def eager_attention(model):
    """The model with its plain attention, which returns its weights (fused kernels such as sdpa return
    none)."""
    fused = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        yield model
    finally:
        model.set_attn_implementation(fused)


def check_encoder(config, pretrained: str, labels: list[str]) -> None:
    """A text generator is not fine-tuned as a classifier, and a classifier only on data with its own
    labels."""
    from seqlab.pretrained.transformers_models import GENERATOR_HEADS

    architectures = config.architectures or []
    if getattr(config, "is_decoder", False) or any(a.endswith(GENERATOR_HEADS) for a in architectures):
        raise SeqlabError(f"model.net.pretrained={pretrained} is a "
                          f"{', '.join(architectures) or config.model_type} (a text generator), not an "
                          "encoder; give an encoder: a classification, NER or masked-LM run, or an encoder's "
                          "hub name or folder")
    head_labels = [config.id2label[i] for i in sorted(config.id2label)]
    if any(a.endswith("ForSequenceClassification") for a in architectures) and head_labels != list(labels):
        raise SeqlabError(f"model.net.pretrained={pretrained} classifies into {head_labels}, the data into "
                          f"{list(labels)}; set dataset.labels and dataset.label_names to the model's, or "
                          "fine-tune from the encoder it was trained from")


def encoder_layers(model) -> list[nn.Module]:
    """The stack of transformer layers of a transformers encoder (the longest ModuleList in it)."""
    stacks = [m for m in model.base_model.modules() if isinstance(m, nn.ModuleList)]
    if not stacks:
        raise SeqlabError(f"cannot find the layers of {type(model).__name__}; freeze and layer_lr_decay need "
                          "them")
    return list(max(stacks, key=len))


def embedding_module(model, embeddings: nn.Module) -> nn.Module:
    """The module around the word embeddings (with the position embeddings and their norm), else them
    alone."""
    for module in model.base_model.children():
        if any(child is embeddings for child in module.modules()) and not isinstance(module, nn.ModuleList):
            return module
    return embeddings


def frozen_parts(model, layers: list[nn.Module], targets: list[str]) -> list[nn.Module]:
    embeddings = embedding_module(model, model.get_input_embeddings())
    parts: list[nn.Module] = []
    for target in targets:
        first = re.fullmatch(r"first_(\d+)_layers", str(target))
        if target == "embeddings":
            parts.append(embeddings)
        elif target == "encoder":
            parts.append(model.base_model)  # the pooler too: only the head learns
        elif first and int(first.group(1)) <= len(layers):
            parts += layers[: int(first.group(1))]
        elif first:
            raise SeqlabError(f"model.net.freeze: {target} asks for more layers than the model's "
                              f"{len(layers)}")
        else:
            raise SeqlabError(f"model.net.freeze: unknown target '{target}'; targets: {FREEZE_TARGETS}")
    return parts
