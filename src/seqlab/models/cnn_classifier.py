"""Kim-style CNN text classifier: embedding -> parallel Conv1d of several widths -> max over time ->
dropout -> linear."""

from __future__ import annotations

import torch
from torch import nn

from seqlab.models.hub_mixin import NetHubMixin
from seqlab.models.word_dropout import WordDropout


class CNNClassifier(nn.Module, NetHubMixin):
    """Pads are zeroed and each convolution runs over the full width (padding k-1 on both sides); outputs
    whose window lies past the sentence end are masked before the max, so padding never changes a
    prediction."""

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        pad_id: int = 0,
        embed_dim: int = 128,
        num_filters: int = 100,
        kernel_sizes: list[int] = (3, 4, 5),
        dropout: float = 0.5,
        word_dropout: float = 0.0,
        unk_id: int = 1,
    ):
        super().__init__()
        self.word_dropout = WordDropout(word_dropout, unk_id)
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.kernel_sizes = list(kernel_sizes)
        self.convs = nn.ModuleList(nn.Conv1d(embed_dim, num_filters, k, padding=k - 1)
                                   for k in self.kernel_sizes)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(num_filters * len(self.kernel_sizes), num_classes)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """input_ids, attention_mask: [B, T] -> logits [B, num_classes]."""
        lengths = attention_mask.sum(1).clamp(min=1)
        x = self.embedding(self.word_dropout(input_ids, attention_mask)) * attention_mask.unsqueeze(-1)
        x = x.transpose(1, 2)  # [B, E, T]
        pooled = []
        for k, conv in zip(self.kernel_sizes, self.convs, strict=False):
            feats = torch.relu(conv(x))  # [B, F, T + k - 1]
            positions = torch.arange(feats.size(-1), device=feats.device)[None, :]
            valid = positions < (lengths + k - 1)[:, None]
            pooled.append(feats.masked_fill(~valid.unsqueeze(1), float("-inf")).max(dim=-1).values)
        return self.head(self.dropout(torch.cat(pooled, dim=-1)))
