"""Attention of a recurrent decoder over the encoder's states: Bahdanau (additive) and Luong (dot or
general)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from seqlab.errors import SeqlabError


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """scores [B, T, S], mask [B, S] -> weights [B, T, S] summing to one over the real positions, zero on
    pads."""
    return scores.masked_fill(~mask[:, None, :], float("-inf")).softmax(-1)


class AdditiveAttention(nn.Module):
    """Bahdanau et al. (2015): score(q, k) = v . tanh(W_q q + W_k k)."""

    def __init__(self, query_dim: int, key_dim: int, attention_dim: int):
        super().__init__()
        self.key_proj = nn.Linear(key_dim, attention_dim, bias=False)
        self.query_proj = nn.Linear(query_dim, attention_dim)
        self.score = nn.Linear(attention_dim, 1, bias=False)

    def prepare(self, memory: torch.Tensor) -> torch.Tensor:
        return self.key_proj(memory)

    def forward(self, query: torch.Tensor, keys: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor):
        """queries [B, T, Q] (T decoder steps at once, or T = 1 for one step), the keys that `prepare` made
        once per sentence from the encoder states, the encoder states themselves [B, S, K] and their mask
        [B, S] (True on real tokens) -> the context vectors [B, T, K] and the weights [B, T, S]: a softmax
        over the source positions in which pads get exactly zero."""
        hidden = torch.tanh(self.query_proj(query)[:, :, None, :] + keys[:, None, :, :])  # [B, T, S, A]
        weights = masked_softmax(self.score(hidden).squeeze(-1), mask)
        return weights @ memory, weights


class LuongAttention(nn.Module):
    """Luong et al. (2015): score(q, k) = q . k (dot, sizes must match) or q . W k (general)."""

    def __init__(self, query_dim: int, key_dim: int, score: Literal["dot", "general"] = "general"):
        super().__init__()
        if score not in ("dot", "general"):
            raise SeqlabError(f"model.net.luong_score={score!r} is not a valid choice; choices: dot, general")
        if score == "dot" and query_dim != key_dim:
            raise SeqlabError(
                f"dot attention needs decoder and encoder states of one size (here {query_dim} and "
                f"{key_dim}); use the general score or equal sizes"
            )
        self.key_proj = nn.Linear(key_dim, query_dim, bias=False) if score == "general" else None

    def prepare(self, memory: torch.Tensor) -> torch.Tensor:
        return memory if self.key_proj is None else self.key_proj(memory)

    def forward(self, query: torch.Tensor, keys: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor):
        """As AdditiveAttention.forward."""
        weights = masked_softmax(query @ keys.transpose(1, 2), mask)  # [B, T, S]
        return weights @ memory, weights
