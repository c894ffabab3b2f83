"""Recurrent text classifier: embedding -> LSTM / GRU / vanilla RNN (packed) -> pooling -> dropout -> linear.

Sequences are packed, so padding never changes a prediction.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqlab.models.pooling import AttentionPooling, masked_max, masked_mean

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class RecurrentClassifier(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        pad_id: int = 0,
        cell: Literal["lstm", "gru", "rnn"] = "lstm",
        embed_dim: int = 128,
        hidden_size: int = 128,
        num_layers: int = 1,
        bidirectional: bool = True,
        dropout: float = 0.3,
        pooling: Literal["last", "mean", "max", "attention"] = "max",
    ):
        super().__init__()
        self.pooling = pooling
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.rnn = CELLS[cell](
            embed_dim,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        out_dim = hidden_size * (2 if bidirectional else 1)
        self.attention = AttentionPooling(out_dim) if pooling == "attention" else None
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(out_dim, num_classes)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """input_ids, attention_mask: [B, T] -> logits [B, num_classes]."""
        lengths = attention_mask.sum(1).clamp(min=1)
        embedded = self.dropout(self.embedding(input_ids))
        packed = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
        outputs, final = self.rnn(packed)
        if self.pooling == "last":
            h_n = final[0] if isinstance(final, tuple) else final  # [layers * dirs, B, H]
            dirs = 2 if self.rnn.bidirectional else 1
            pooled = torch.cat(list(h_n[-dirs:]), dim=-1)
        else:
            states, _ = pad_packed_sequence(outputs, batch_first=True, total_length=input_ids.size(1))
            mask = torch.arange(states.size(1), device=states.device)[None, :] < lengths[:, None]
            if self.pooling == "mean":
                pooled = masked_mean(states, mask)
            elif self.pooling == "max":
                pooled = masked_max(states, mask)
            else:
                pooled, _ = self.attention(states, mask)
        return self.head(self.dropout(pooled))
