"""Transformer encoder text classifier in plain torch, and the blocks the Transformer translator
(models.transformer_seq2seq) is built from."""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.models.hub_mixin import NetHubMixin
from seqlab.models.pooling import masked_max, masked_mean
from seqlab.models.word_dropout import WordDropout


class MultiHeadAttention(nn.Module):
    """Queries from x [B, T, D], keys and values from memory [B, S, D] (x itself for self-attention); mask
    broadcastable to [B, heads, T, S], True where a query may look (None: everywhere). Returns (output
    [B, T, D], weights [B, heads, T, S] when asked for, else None).

    keys_values() and attend() are its two halves, for a decoder that keeps the keys and values it has
    already projected (the cross-attention's over the source, the self-attention's over the prefix)."""

    def __init__(self, dim: int, num_heads: int, dropout: float):
        super().__init__()
        if num_heads < 1 or dim % num_heads:
            raise SeqlabError(f"model.net.num_heads={num_heads} must divide model.net.embed_dim={dim}")
        self.num_heads, self.dropout = num_heads, dropout
        self.query = nn.Linear(dim, dim)
        self.key_value = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor | None,
                return_weights: bool = False):
        return self.attend(x, *self.keys_values(memory), mask, return_weights)

    def keys_values(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """memory [B, S, D] -> keys, values [B, heads, S, D / heads]."""
        return self.split(self.key_value(memory))

    def split(self, key_value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """key_value(memory) [B, S, 2 * D] -> keys, values [B, heads, S, D / heads]."""
        batch, steps, double = key_value.shape
        head = double // (2 * self.num_heads)
        k, v = key_value.view(batch, steps, 2, self.num_heads, head).permute(2, 0, 3, 1, 4)
        return k, v

    def attend(self, x: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None,
               return_weights: bool = False):
        """x [B, T, D] looks at keys and values [B, heads, S, D / heads]."""
        batch, steps, dim = x.shape
        head = dim // self.num_heads
        q = self.query(x).view(batch, steps, self.num_heads, head).transpose(1, 2)  # [B, H, T, d]
        dropout = self.dropout if self.training else 0.0
        weights = None
        if return_weights:
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(head)
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            weights = scores.softmax(-1)  # [B, H, T, S]
            mixed = F.dropout(weights, dropout, self.training) @ v
        else:
            mixed = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)
        return self.out(mixed.transpose(1, 2).reshape(batch, steps, dim)), weights


class FeedForward(nn.Sequential):
    def __init__(self, dim: int, hidden: int, dropout: float):
        super().__init__(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim))


class EncoderLayer(nn.Module):
    """Pre-norm: x + attention(norm(x)), then x + feed_forward(norm(x))."""

    def __init__(self, dim: int, num_heads: int, hidden: int, dropout: float):
        super().__init__()
        self.attention_norm = nn.LayerNorm(dim)
        self.attention = MultiHeadAttention(dim, num_heads, dropout)
        self.feed_forward_norm = nn.LayerNorm(dim)
        self.feed_forward = FeedForward(dim, hidden, dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, return_weights: bool = False):
        normed = self.attention_norm(x)
        attended, weights = self.attention(normed, normed, mask, return_weights)
        x = x + self.dropout(attended)
        return x + self.dropout(self.feed_forward(self.feed_forward_norm(x))), weights


class TokenEmbedding(nn.Module):
    """Token ids [B, T] -> embedding * sqrt(width) + position [B, T, D]: sinusoidal (Vaswani et al., 2017) or
    learned positions, for up to max_positions tokens. The weights start at N(0, 1/width), so that a tied
    output layer starts with logits of unit scale."""

    def __init__(self, vocab_size: int, dim: int, pad_id: int, positions: Literal["sinusoidal", "learned"],
                 max_positions: int, dropout: float):
        super().__init__()
        if positions not in ("sinusoidal", "learned"):
            raise SeqlabError(f"model.net.positions={positions!r} is not a valid choice; choices: "
                              "sinusoidal, learned")
        self.scale, self.max_positions = math.sqrt(dim), max_positions
        self.tokens = nn.Embedding(vocab_size, dim, padding_idx=pad_id)
        nn.init.normal_(self.tokens.weight, std=dim**-0.5)
        with torch.no_grad():
            self.tokens.weight[pad_id].zero_()
        self.learned = nn.Embedding(max_positions, dim) if positions == "learned" else None
        if self.learned is None:
            self.register_buffer("sinusoids", sinusoids(max_positions, dim), persistent=False)
        self.dropout = nn.Dropout(dropout)

    def position(self, steps: int, device: torch.device, start: int = 0) -> torch.Tensor:
        """[steps, D]: the positions start, ..., start + steps - 1."""
        if start + steps > self.max_positions:
            raise SeqlabError(f"a sequence of {start + steps} tokens is longer than model.net.max_positions="
                              f"{self.max_positions}; raise model.net.max_positions")
        if self.learned is None:
            return self.sinusoids[start:start + steps]
        return self.learned(torch.arange(start, start + steps, device=device))

    def forward(self, ids: torch.Tensor, start: int = 0) -> torch.Tensor:
        """ids [B, T] at positions start, ..., start + T - 1 (start > 0: the continuation of a prefix)."""
        return self.dropout(self.tokens(ids) * self.scale + self.position(ids.size(1), ids.device, start))


def sinusoids(steps: int, dim: int) -> torch.Tensor:
    """[steps, dim]: sin on even features, cos on odd ones, wavelengths from 2 pi to 10000 * 2 pi."""
    position = torch.arange(steps, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(steps, dim)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)[:, : dim // 2]
    return table


class TransformerClassifier(nn.Module, NetHubMixin):
    """Read top to bottom: token embedding (scaled by sqrt(width)) plus positions (sinusoidal or learned)
    -> N pre-norm layers of multi-head self-attention and a feed-forward block, each added to its input
    -> final LayerNorm -> pooling (a learned CLS vector put before the sentence, or the mean or the
    feature-wise max of the real tokens) -> dropout -> linear.

    Attention goes through torch's scaled_dot_product_attention with the padding mask, so pads are never
    attended to and padding never changes a prediction. `attention_weights` computes the same softmax
    explicitly (for that call only) and returns every layer's weights per head, for the run's attention
    maps."""

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        pad_id: int = 0,
        embed_dim: int = 256,
        num_heads: int = 4,
        num_layers: int = 2,
        hidden_size: int = 512,
        positions: Literal["sinusoidal", "learned"] = "sinusoidal",
        max_positions: int = 512,
        pooling: Literal["cls", "mean", "max"] = "mean",
        dropout: float = 0.2,
        word_dropout: float = 0.0,
        unk_id: int = 1,
    ):
        super().__init__()
        if pooling not in ("cls", "mean", "max"):
            raise SeqlabError(f"model.net.pooling={pooling!r} is not a valid choice; choices: cls, mean, max")
        if not 0.0 <= dropout < 1.0:
            raise SeqlabError(f"model.net.dropout={dropout} must lie in [0, 1)")
        self.pooling = pooling
        self.word_dropout = WordDropout(word_dropout, unk_id)
        self.embedding = TokenEmbedding(vocab_size, embed_dim, pad_id, positions, max_positions, dropout)
        # CLS pooling: a learned vector before every sentence, at position 0 (the words then start at 1)
        self.cls = nn.Parameter(torch.randn(embed_dim) * embed_dim**-0.5) if pooling == "cls" else None
        self.layers = nn.ModuleList(EncoderLayer(embed_dim, num_heads, hidden_size, dropout)
                                    for _ in range(num_layers))
        self.norm = nn.LayerNorm(embed_dim)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(embed_dim, num_classes)

    def _encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, return_weights: bool):
        """-> (final states [B, T', D], their mask [B, T'], per-layer weights [B, H, T', T'] or []);
        T' = T + 1 with a CLS vector."""
        ids = self.word_dropout(input_ids, attention_mask)
        mask = attention_mask.bool()
        if self.cls is None:
            x = self.embedding(ids)
        else:
            words = self.embedding.tokens(ids) * self.embedding.scale
            x = torch.cat([self.cls.expand(len(ids), 1, -1), words], 1)
            x = self.embedding.dropout(x + self.embedding.position(x.size(1), x.device))
            mask = torch.cat([mask.new_ones(len(ids), 1), mask], 1)
        keys = mask[:, None, None, :]  # [B, 1, 1, T']: every query looks at the real tokens only
        weights = []
        for layer in self.layers:
            x, layer_weights = layer(x, keys, return_weights)
            weights.append(layer_weights)
        return self.norm(x), mask, weights if return_weights else []

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """input_ids, attention_mask: [B, T] -> logits [B, num_classes]."""
        states, mask, _ = self._encode(input_ids, attention_mask, False)
        if self.pooling == "cls":
            pooled = states[:, 0]
        elif self.pooling == "mean":
            pooled = masked_mean(states, mask)
        else:
            pooled = masked_max(states, mask)
        return self.head(self.dropout(pooled))

    @torch.no_grad()
    def attention_weights(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> list[torch.Tensor]:
        """Each layer's self-attention weights [B, heads, T', T'] (queries on rows, keys on columns;
        T' = T + 1, the CLS vector first, with CLS pooling): each row sums to one over the real tokens, pads
        get zero."""
        return self._encode(input_ids, attention_mask, True)[2]
