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
class DecoderCache:
    """What step-by-step decoding keeps between steps: each decoder layer's self-attention keys and values
    over the target prefix fed so far, [N, heads, t, D / heads] each; a step appends the new token's."""
    keys: list[torch.Tensor]
    values: list[torch.Tensor]

    @property
    def length(self) -> int:
        """t: the tokens fed so far."""
        return self.keys[0].size(2)

    def select(self, index: torch.Tensor) -> DecoderCache:
        return DecoderCache([k.index_select(0, index) for k in self.keys],
                            [v.index_select(0, index) for v in self.values])


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

    def forward(self, x: torch.Tensor, causal: torch.Tensor | None, memory: tuple[torch.Tensor, torch.Tensor],
                memory_mask: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None = None,
                return_weights: bool = False):
        """x [N, T, D] after the cached prefix `past` (its self-attention keys and values, or None); memory:
        the cross-attention's keys and values over the source. -> (x, the self-attention's keys and values
        over the prefix and x, cross-attention weights [N, heads, T, S] or None)."""
        normed = self.self_attention_norm(x)
        keys, values = self.self_attention.keys_values(normed)
        if past is not None:
            keys, values = torch.cat([past[0], keys], 2), torch.cat([past[1], values], 2)
        x = x + self.dropout(self.self_attention.attend(normed, keys, values, causal)[0])
        attended, weights = self.cross_attention.attend(self.cross_attention_norm(x), *memory, memory_mask,
                                                        return_weights)
        x = x + self.dropout(attended)
        return x + self.dropout(self.feed_forward(self.feed_forward_norm(x))), (keys, values), weights


class TransformerSeq2Seq(nn.Module, NetHubMixin):
    """The source goes through encoder layers of self-attention under its padding mask; the target prefix
    through decoder layers of causal self-attention (a position sees itself and the positions before it),
    cross-attention over the encoder's states under the source padding mask, and a feed-forward block; a
    final LayerNorm each, and a projection onto the target vocabulary that can share the target
    embedding's weights.

    Decoding goes through the interface of models.seq2seq (the greedy and beam searches of
    seqlab.decoding): encode() once per batch, which also projects each decoder layer's cross-attention keys
    and values over the source, then step() per generated token, which runs the decoder over that token alone
    against a key-value cache of the prefix (DecoderCache) and returns its logits and the last layer's
    cross-attention averaged over its heads (the weights of the heatmaps)."""
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

    def encode(self, src: torch.Tensor, src_mask: torch.Tensor) -> tuple[EncoderMemory, DecoderCache]:
        """src, src_mask [N, S] -> the encoder's states with their mask and every decoder layer's
        cross-attention keys and values over them (EncoderMemory.keys [N, S, layers * 2 * D]), and an empty
        cache."""
        mask = src_mask.bool()
        x = self.src_embedding(src)
        for layer in self.encoder:
            x, _ = layer(x, mask[:, None, None, :])
        states = self.encoder_norm(x)
        keys = torch.cat([layer.cross_attention.key_value(states) for layer in self.decoder], -1)
        first = self.decoder[0].self_attention
        empty = states.new_zeros(len(src), first.num_heads, 0, states.size(-1) // first.num_heads)
        return EncoderMemory(states, keys, mask), DecoderCache([empty] * len(self.decoder),
                                                               [empty] * len(self.decoder))

    def _decode(self, tgt: torch.Tensor, memory: EncoderMemory, causal: torch.Tensor | None,
                past: DecoderCache | None, return_weights: bool):
        """tgt [N, T] after the prefix cached in `past` (or from the start) -> (logits [N, T, V], the cache
        over the prefix and tgt, the last layer's cross-attention averaged over heads [N, T, S] or None)."""
        memory_mask = memory.mask[:, None, None, :]
        layer_memory = memory.keys.chunk(len(self.decoder), -1)
        x = self.tgt_embedding(tgt, 0 if past is None else past.length)
        weights, cache = None, DecoderCache([], [])
        for number, layer in enumerate(self.decoder):
            last = number == len(self.decoder) - 1
            x, (keys, values), weights = layer(
                x, causal, layer.cross_attention.split(layer_memory[number]), memory_mask,
                None if past is None else (past.keys[number], past.values[number]), return_weights and last)
            cache.keys.append(keys)
            cache.values.append(values)
        return self.out(self.decoder_norm(x)), cache, None if weights is None else weights.mean(1)

    def step(self, prev_tokens: torch.Tensor, state: DecoderCache, memory: EncoderMemory):
        """Decoding: the previous tokens [N] -> (logits [N, V], the cache with them, attention weights
        [N, S])."""
        logits, cache, weights = self._decode(prev_tokens[:, None], memory, None, state, return_weights=True)
        return logits[:, -1], cache, weights[:, -1]

    def forward(self, src: torch.Tensor, src_mask: torch.Tensor, tgt_in: torch.Tensor,
                return_attention: bool = False):
        """Teacher-forced pass: src, src_mask [B, S], tgt_in [B, T] (<bos> + target) -> (logits [B, T, V],
        attention weights [B, T, S] with return_attention, else None: training takes the fused attention)."""
        memory, _ = self.encode(src, src_mask)
        steps = tgt_in.size(1)
        causal = torch.ones(steps, steps, dtype=torch.bool, device=tgt_in.device).tril()
        logits, _, weights = self._decode(tgt_in, memory, causal, None, return_attention)
        return logits, weights
