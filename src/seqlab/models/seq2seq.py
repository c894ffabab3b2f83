"""Recurrent encoder-decoder translator (LSTM or GRU), with Bahdanau or Luong attention or
without."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqlab.errors import SeqlabError
from seqlab.models.attention import AdditiveAttention, LuongAttention
from seqlab.models.hub_mixin import NetHubMixin

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}
ATTENTIONS = ("none", "bahdanau", "luong")


@dataclass
class EncoderMemory:
    states: torch.Tensor  # [N, S, K] encoder outputs
    keys: torch.Tensor | None  # [N, S, *] what attention compares queries with (prepared once)
    mask: torch.Tensor  # [N, S] True on real source tokens

    def select(self, index: torch.Tensor) -> EncoderMemory:
        keys = None if self.keys is None else self.keys.index_select(0, index)
        return EncoderMemory(self.states.index_select(0, index), keys, self.mask.index_select(0, index))


@dataclass
class DecoderState:
    hidden: torch.Tensor | tuple[torch.Tensor, torch.Tensor]  # [L, N, H]; (h, c) for an LSTM
    feed: torch.Tensor | None = None  # Luong input feeding: the previous step's pre-output vector [N, E]

    def top(self) -> torch.Tensor:
        """The last layer's hidden state [N, H]."""
        return (self.hidden[0] if isinstance(self.hidden, tuple) else self.hidden)[-1]

    def select(self, index: torch.Tensor) -> DecoderState:
        if isinstance(self.hidden, tuple):
            hidden = tuple(h.index_select(1, index) for h in self.hidden)
        else:
            hidden = self.hidden.index_select(1, index)
        return DecoderState(hidden, None if self.feed is None else self.feed.index_select(0, index))


class Seq2Seq(nn.Module, NetHubMixin):
    """Embedding -> recurrent encoder (LSTM or GRU, packed, optionally bidirectional) -> recurrent
    decoder, with attention over the encoder's states or without it.

    - attention `none`: the plain model; only the encoder's final state reaches the decoder (as its
      initial state).
    - `bahdanau`: at each step the previous decoder state scores every encoder state (additive), the
      softmax of the scores weighs them into a context vector, which is fed to the decoder with the
      previous word.
    - `luong`: the decoder runs first; its new state scores the encoder states (dot or general), and the
      context is combined with that state to predict the next word (input feeding passes that
      combination to the next step).

    Every variant predicts through a pre-output layer tanh(W [state; context; previous word]) of the
    embedding's size, whose projection onto the target vocabulary can share the target embedding's
    weights. Source pads are packed away in the encoder and masked out of attention, so padding never
    changes a translation."""

    def __init__(
        self,
        src_vocab_size: int,
        tgt_vocab_size: int,
        pad_id: int = 0,
        cell: Literal["lstm", "gru"] = "lstm",
        embed_dim: int = 256,
        hidden_size: int = 256,
        decoder_hidden_size: int | None = None,
        num_layers: int = 1,
        bidirectional: bool = True,
        attention: Literal["none", "bahdanau", "luong"] = "bahdanau",
        luong_score: Literal["dot", "general"] = "general",
        attention_dim: int = 256,
        input_feeding: bool = False,
        dropout: float = 0.3,
        teacher_forcing_ratio: float = 1.0,
        tie_embeddings: bool = True,
    ):
        super().__init__()
        if cell not in CELLS:
            raise SeqlabError(f"model.net.cell={cell!r} is not a valid choice; choices: {', '.join(CELLS)}")
        if attention not in ATTENTIONS:
            choices = ", ".join(ATTENTIONS)
            raise SeqlabError(f"model.net.attention={attention!r} is not a valid choice; choices: {choices}")
        if not 0.0 <= teacher_forcing_ratio <= 1.0:
            raise SeqlabError(f"model.net.teacher_forcing_ratio={teacher_forcing_ratio} must lie between 0 "
                              "and 1")
        if not 0.0 <= dropout < 1.0:
            raise SeqlabError(f"model.net.dropout={dropout} must lie in [0, 1)")
        for name, value in (("embed_dim", embed_dim), ("hidden_size", hidden_size),
                            ("num_layers", num_layers), ("attention_dim", attention_dim)):
            if value < 1:
                raise SeqlabError(f"model.net.{name}={value} must be at least 1")
        encoder_dim = hidden_size * (2 if bidirectional else 1)
        decoder_dim = decoder_hidden_size or encoder_dim
        if attention == "luong" and luong_score == "dot" and decoder_dim != encoder_dim:
            raise SeqlabError(
                f"model.net.luong_score=dot needs decoder states of the encoder's output size ({encoder_dim} "
                f"= hidden_size x directions), not {decoder_dim}; set model.net.decoder_hidden_size=null or "
                "model.net.luong_score=general"
            )
        self.attention_kind = attention
        self.input_feeding = input_feeding and attention == "luong"
        self.teacher_forcing_ratio = teacher_forcing_ratio
        rnn = CELLS[cell]
        between = dropout if num_layers > 1 else 0.0

        self.src_embedding = nn.Embedding(src_vocab_size, embed_dim, padding_idx=pad_id)
        self.tgt_embedding = nn.Embedding(tgt_vocab_size, embed_dim, padding_idx=pad_id)
        self.encoder = rnn(embed_dim, hidden_size, num_layers, batch_first=True, bidirectional=bidirectional,
                           dropout=between)
        self.bridge = nn.Linear(encoder_dim, decoder_dim)
        self.bridge_cell = nn.Linear(encoder_dim, decoder_dim) if cell == "lstm" else None
        if attention == "bahdanau":
            self.attention = AdditiveAttention(decoder_dim, encoder_dim, attention_dim)
        elif attention == "luong":
            self.attention = LuongAttention(decoder_dim, encoder_dim, luong_score)
        else:
            self.attention = None
        decoder_in = embed_dim + (encoder_dim if attention == "bahdanau" else 0)
        decoder_in += embed_dim if self.input_feeding else 0
        self.decoder = rnn(decoder_in, decoder_dim, num_layers, batch_first=True, dropout=between)
        pre_in = decoder_dim + (encoder_dim if self.attention is not None else 0)
        pre_in += embed_dim if attention != "luong" else 0
        self.pre_output = nn.Linear(pre_in, embed_dim)
        self.out = nn.Linear(embed_dim, tgt_vocab_size)
        if tie_embeddings:
            self.out.weight = self.tgt_embedding.weight
        self.dropout = nn.Dropout(dropout)

    @property
    def has_attention(self) -> bool:
        return self.attention is not None

    # -- encoder --------------------------------------------------------------------------------------------
    def encode(self, src: torch.Tensor, src_mask: torch.Tensor) -> tuple[EncoderMemory, DecoderState]:
        """src, src_mask [N, S] -> the encoder's memory and the decoder's initial state."""
        lengths = src_mask.sum(1).clamp(min=1)
        embedded = self.dropout(self.src_embedding(src))
        packed = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
        outputs, hidden = self.encoder(packed)
        states, _ = pad_packed_sequence(outputs, batch_first=True, total_length=src.size(1))
        if isinstance(hidden, tuple):
            initial = (torch.tanh(self.bridge(self._final(hidden[0]))),
                       self.bridge_cell(self._final(hidden[1])))
        else:
            initial = torch.tanh(self.bridge(self._final(hidden)))
        keys = self.attention.prepare(states) if self.attention is not None else None
        feed = states.new_zeros(src.size(0), self.pre_output.out_features) if self.input_feeding else None
        return EncoderMemory(states, keys, src_mask), DecoderState(initial, feed)

    def _final(self, hidden: torch.Tensor) -> torch.Tensor:
        """[layers x directions, N, H] -> [layers, N, directions x H]: each layer's last states, both
        directions."""
        directions = 2 if self.encoder.bidirectional else 1
        layers, batch = hidden.size(0) // directions, hidden.size(1)
        return hidden.view(layers, directions, batch, -1).permute(0, 2, 1, 3).reshape(layers, batch, -1)

    # -- decoder --------------------------------------------------------------------------------------------
    def _features(self, state: torch.Tensor, context: torch.Tensor | None,
                  embedded: torch.Tensor) -> torch.Tensor:
        parts = ([state] + ([context] if context is not None else [])
                 + ([embedded] if self.attention_kind != "luong" else []))
        return torch.tanh(self.pre_output(torch.cat(parts, -1)))

    def _decode_step(self, embedded: torch.Tensor, state: DecoderState, memory: EncoderMemory):
        """One step from the previous word's embedding [N, E] -> (features [N, E], new state, weights
        [N, S])."""
        context = weights = None
        inputs = embedded
        if self.attention_kind == "bahdanau":
            context, weights = self.attention(state.top()[:, None], memory.keys, memory.states, memory.mask)
            inputs = torch.cat([embedded, context[:, 0]], -1)
        elif self.input_feeding:
            inputs = torch.cat([embedded, state.feed], -1)
        output, hidden = self.decoder(inputs[:, None], state.hidden)
        output = output[:, 0]
        if self.attention_kind == "luong":
            context, weights = self.attention(output[:, None], memory.keys, memory.states, memory.mask)
        features = self._features(output, None if context is None else context[:, 0], embedded)
        feed = features if self.input_feeding else None
        return features, DecoderState(hidden, feed), None if weights is None else weights[:, 0]

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(features))

    def step(self, prev_tokens: torch.Tensor, state: DecoderState, memory: EncoderMemory):
        """Decoding: the previous tokens [N] -> (logits [N, V], new state, attention weights [N, S] or
        None)."""
        features, state, weights = self._decode_step(self.tgt_embedding(prev_tokens), state, memory)
        return self.logits(features), state, weights

    def forward(self, src: torch.Tensor, src_mask: torch.Tensor, tgt_in: torch.Tensor):
        """Teacher-forced pass: src, src_mask [B, S], tgt_in [B, T] (<bos> + target) -> (logits [B, T, V],
        attention weights [B, T, S] or None). While training, teacher_forcing_ratio < 1 feeds each sentence
        its own previous prediction instead of the gold word with probability 1 - ratio at every step."""
        memory, state = self.encode(src, src_mask)
        ratio = self.teacher_forcing_ratio if self.training else 1.0
        embedded = self.dropout(self.tgt_embedding(tgt_in))
        if ratio >= 1.0 and not self.input_feeding and self.attention_kind != "bahdanau":
            return self._parallel(embedded, state, memory)
        features, weights, logits = [], [], []
        step_input = embedded[:, 0]
        for t in range(tgt_in.size(1)):
            step_features, state, step_weights = self._decode_step(step_input, state, memory)
            features.append(step_features)
            weights.append(step_weights)
            if t + 1 == tgt_in.size(1):
                break
            if ratio < 1.0:
                logits.append(self.logits(step_features))
                gold = torch.rand(tgt_in.size(0), device=tgt_in.device) < ratio
                tokens = torch.where(gold, tgt_in[:, t + 1], logits[-1].argmax(-1))
                step_input = self.dropout(self.tgt_embedding(tokens))
            else:
                step_input = embedded[:, t + 1]
        if ratio < 1.0:
            logits.append(self.logits(features[-1]))
            out = torch.stack(logits, 1)
        else:
            out = self.logits(torch.stack(features, 1))
        return out, None if self.attention is None else torch.stack(weights, 1)

    def _parallel(self, embedded: torch.Tensor, state: DecoderState, memory: EncoderMemory):
        """All steps in one recurrent call: possible when no step's input depends on an earlier step's
        output."""
        outputs, _ = self.decoder(embedded, state.hidden)
        context = weights = None
        if self.attention is not None:
            context, weights = self.attention(outputs, memory.keys, memory.states, memory.mask)
        return self.logits(self._features(outputs, context, embedded)), weights
