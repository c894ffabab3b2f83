"""Recurrent language model: embedding -> LSTM / GRU / vanilla RNN layers -> dropout -> linear over
the vocabulary."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from seqlab.models.hub_mixin import NetHubMixin

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


class RNNLanguageModel(nn.Module, NetHubMixin):
    """With tie_weights the output layer shares the embedding matrix (Press & Wolf 2017); when the hidden
    size differs from the embedding size a linear projection maps one onto the other first."""

    def __init__(
        self,
        vocab_size: int,
        cell: Literal["lstm", "gru", "rnn"] = "lstm",
        embed_dim: int = 128,
        hidden_size: int = 512,
        num_layers: int = 1,
        dropout: float = 0.1,
        tie_weights: bool = False,
    ):
        super().__init__()
        self.cell = cell
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.rnn = CELLS[cell](
            embed_dim, hidden_size, num_layers=num_layers, batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(dropout)
        self.project = nn.Linear(hidden_size, embed_dim) if tie_weights and hidden_size != embed_dim else None
        self.head = nn.Linear(embed_dim if tie_weights else hidden_size, vocab_size)
        if tie_weights:
            self.head.weight = self.embedding.weight

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """input_ids [B, T] -> next-token logits [B, T, V]. Pads come only after the real tokens, so a
        left-to-right model's outputs at the real tokens never see them."""
        logits, _ = self.forward_with_state(input_ids)
        return logits

    def forward_with_state(self, input_ids: torch.Tensor,
                           state: State | None = None) -> tuple[torch.Tensor, State]:
        """Continue from `state` (None: from the start): logits [B, T, V] and the state after the last
        token."""
        outputs, state = self.rnn(self.dropout(self.embedding(input_ids)), state)
        outputs = self.dropout(outputs)
        if self.project is not None:
            outputs = self.project(outputs)
        return self.head(outputs), state

    @staticmethod
    def select_state(state: State, rows: torch.Tensor) -> State:
        """The state of the given batch rows (beam search reorders hypotheses)."""
        if isinstance(state, tuple):
            return tuple(s.index_select(1, rows) for s in state)
        return state.index_select(1, rows)
