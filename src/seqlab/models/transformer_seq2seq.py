"""Transformer translator (Vaswani et al., 2017) in plain torch, pre-norm, from the blocks of
models.transformer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.models.hub_mixin import NetHubMixin
from seqlab.models.seq2seq import EncoderMemory
from seqlab.models.transformer import EncoderLayer, FeedForward, MultiHeadAttention, TokenEmbedding


@dataclass
class TargetPrefix:
    tokens: torch.Tensor  # [N, t] the target tokens fed so far, <bos> first

    def select(self, index: torch.Tensor) -> TargetPrefix:
        return TargetPrefix(self.tokens.index_select(0, index))


class DecoderLayer(nn.Module):
    """Pre-norm: x + self_attention(norm(x)) under the causal mask, x + cross_attention(norm(x), memory), then
    x + feed_forward(norm(x))."""

    def __init__(self, dim: int, num_heads: int, hidden: int, dropout: float):
        super().__init__()
        self.self_attention_norm = nn.LayerNorm(dim)
        self.self_attention = MultiHeadAttention(dim, num_heads, dropout)
        self.cross_attention_norm = nn.LayerNorm(dim)
        self.cross_attention = MultiHeadAttention(dim, num_heads, dropout)
        self.feed_forward_norm = nn.LayerNorm(dim)
        self.feed_forward = FeedForward(dim, hidden, dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, causal: torch.Tensor, memory: torch.Tensor, memory_mask: torch.Tensor,
                return_weights: bool = False):
        normed = self.self_attention_norm(x)
        x = x + self.dropout(self.self_attention(normed, normed, causal)[0])
        attended, weights = self.cross_attention(self.cross_attention_norm(x), memory, memory_mask,
                                                 return_weights)
        x = x + self.dropout(attended)
        return x + self.dropout(self.feed_forward(self.feed_forward_norm(x))), weights


class TransformerSeq2Seq(nn.Module, NetHubMixin):
    """The source goes through encoder layers of self-attention under its padding mask; the target prefix
    through decoder layers of causal self-attention (a position sees itself and the positions before it),
    cross-attention over the encoder's states under the source padding mask, and a feed-forward block; a
    final LayerNorm each, and a projection onto the target vocabulary that can share the target
    embedding's weights.

    Decoding goes through the interface of models.seq2seq (the greedy and beam searches of
    seqlab.decoding): encode() once per batch, then step() per generated token. The decoder's state is the
    target prefix itself: each step runs the decoder over the whole prefix (no key-value cache) and returns
    the last position's logits and the last layer's cross-attention averaged over its heads (the weights
    of the heatmaps)."""
    has_attention = True  # cross-attention weights for the heatmaps

    def __init__(
        self,
        src_vocab_size: int,
        tgt_vocab_size: int,
        pad_id: int = 0,
        embed_dim: int = 256,
        num_heads: int = 4,
        num_layers: int = 3,
        hidden_size: int = 1024,
        positions: Literal["sinusoidal", "learned"] = "sinusoidal",
        max_positions: int = 256,
        dropout: float = 0.1,
        tie_embeddings: bool = True,
    ):
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise SeqlabError(f"model.net.dropout={dropout} must lie in [0, 1)")
        if num_layers < 1:
            raise SeqlabError(f"model.net.num_layers={num_layers} must be at least 1")
        self.src_embedding = TokenEmbedding(src_vocab_size, embed_dim, pad_id, positions, max_positions,
                                            dropout)
        self.tgt_embedding = TokenEmbedding(tgt_vocab_size, embed_dim, pad_id, positions, max_positions,
                                            dropout)
        self.encoder = nn.ModuleList(EncoderLayer(embed_dim, num_heads, hidden_size, dropout)
                                     for _ in range(num_layers))
        self.encoder_norm = nn.LayerNorm(embed_dim)
        self.decoder = nn.ModuleList(DecoderLayer(embed_dim, num_heads, hidden_size, dropout)
                                     for _ in range(num_layers))
        self.decoder_norm = nn.LayerNorm(embed_dim)
        self.out = nn.Linear(embed_dim, tgt_vocab_size)
        if tie_embeddings:
            self.out.weight = self.tgt_embedding.tokens.weight

    def encode(self, src: torch.Tensor, src_mask: torch.Tensor) -> tuple[EncoderMemory, TargetPrefix]:
        """src, src_mask [N, S] -> the encoder's states with their mask, and an empty target prefix."""
        mask = src_mask.bool()
        x = self.src_embedding(src)
        for layer in self.encoder:
            x, _ = layer(x, mask[:, None, None, :])
        return EncoderMemory(self.encoder_norm(x), None, mask), TargetPrefix(src.new_zeros(len(src), 0))

    def _decode(self, tgt: torch.Tensor, memory: EncoderMemory, return_weights: bool):
        """tgt [N, T] -> (logits [N, T, V], the last layer's cross-attention averaged over heads [N, T, S] or
        None)."""
        steps = tgt.size(1)
        causal = torch.ones(steps, steps, dtype=torch.bool, device=tgt.device).tril()
        memory_mask = memory.mask[:, None, None, :]
        x, weights = self.tgt_embedding(tgt), None
        for number, layer in enumerate(self.decoder, start=1):
            last = number == len(self.decoder)
            x, weights = layer(x, causal, memory.states, memory_mask, return_weights and last)
        return self.out(self.decoder_norm(x)), None if weights is None else weights.mean(1)

    def step(self, prev_tokens: torch.Tensor, state: TargetPrefix, memory: EncoderMemory):
        """Decoding: the previous tokens [N] -> (logits [N, V], the prefix with them, attention weights
        [N, S])."""
        prefix = TargetPrefix(torch.cat([state.tokens, prev_tokens[:, None]], 1))
        logits, weights = self._decode(prefix.tokens, memory, return_weights=True)
        return logits[:, -1], prefix, weights[:, -1]

    def forward(self, src: torch.Tensor, src_mask: torch.Tensor, tgt_in: torch.Tensor,
                return_attention: bool = False):
        """Teacher-forced pass: src, src_mask [B, S], tgt_in [B, T] (<bos> + target) -> (logits [B, T, V],
        attention weights [B, T, S] with return_attention, else None: training takes the fused attention)."""
        memory, _ = self.encode(src, src_mask)
        return self._decode(tgt_in, memory, return_attention)
