"""A pretrained Transformer encoder with a token-classification head (AutoModelForTokenClassification)."""

from __future__ import annotations

import torch
from torch import nn

from seqlab.pretrained.transformers_models import load_token_classifier


class TokenClassifier(nn.Module):
    """Logits per sub-word piece over the IOB2 tags. The transformers model is `self.model`:
    save_pretrained / from_pretrained work on it directly."""

    def __init__(self, labels: list, pretrained: str = "sentence-transformers/all-MiniLM-L6-v2",
                 train_encoder: bool = True):
        super().__init__()
        self.model = load_token_classifier(pretrained, [str(label) for label in labels]).train()
        if not train_encoder:  # only the new head learns
            for parameter in self.model.base_model.parameters():
                parameter.requires_grad_(False)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits
