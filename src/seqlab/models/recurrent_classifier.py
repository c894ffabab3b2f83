"""Recurrent text classifier: embedding -> LSTM / GRU / vanilla RNN -> pooling -> dropout -> linear."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqlab.models.hub_mixin import NetHubMixin
from seqlab.models.pooling import AttentionPooling, masked_max, masked_mean
from seqlab.models.word_dropout import WordDropout

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class RecurrentClassifier(nn.Module, NetHubMixin):
    """Padding never changes a prediction: a bidirectional network reads packed sequences (its backward
    pass starts at each sentence's end); a unidirectional one reads the padded batch, whose pads come
    after each sentence's end, and pooling is masked to the real tokens."""

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
        word_dropout: float = 0.0,
        unk_id: int = 1,
    ):
        super().__init__()
        self.pooling = pooling
        self.word_dropout = WordDropout(word_dropout, unk_id)
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
        embedded = self.dropout(self.embedding(self.word_dropout(input_ids, attention_mask)))
        if self.rnn.bidirectional:
            packed = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
            outputs, _ = self.rnn(packed)
            states, _ = pad_packed_sequence(outputs, batch_first=True, total_length=input_ids.size(1))
        else:
            # one direction: pads come after each sentence's end, so the states up to it are exact (and
            # the unpacked call is faster)
            states, _ = self.rnn(embedded)
        mask = torch.arange(states.size(1), device=states.device)[None, :] < lengths[:, None]
        if self.pooling == "last":
            pooled = self._last(states, lengths)
        elif self.pooling == "mean":
            pooled = masked_mean(states, mask)
        elif self.pooling == "max":
            pooled = masked_max(states, mask)
        else:
            pooled, _ = self.attention(states, mask)
        return self.head(self.dropout(pooled))

    def _last(self, states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Forward state at each sentence's last token; backward state at its first (where it ends)."""
        rows = torch.arange(states.size(0), device=states.device)
        last = states[rows, lengths - 1]
        if not self.rnn.bidirectional:
            return last
        hidden = self.rnn.hidden_size
        return torch.cat([last[:, :hidden], states[:, 0, hidden:]], dim=-1)
