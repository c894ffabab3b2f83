"""BERT masked language model (transformers' BertForMaskedLM), from scratch or from a pretrained
encoder."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from transformers import BertConfig, BertForMaskedLM

from seqlab.errors import SeqlabError
from seqlab.pretrained.transformers_models import dropout_values, load_masked_lm


class BertMaskedLanguageModel(nn.Module):
    """From scratch from BertConfig values, or from a pretrained encoder (hub name, save_pretrained folder
    or mlflow:<run_id>) whose pretraining it continues; an encoder saved without its masked-LM head (the
    packaged MiniLM) gets a new one. The transformers model is `self.model`: save_pretrained /
    from_pretrained work on it directly, and a sequence classifier fine-tunes from what it saves."""

    def __init__(
        self,
        vocab_size: int,
        pretrained: str | None = None,
        hidden_size: int = 256,
        num_hidden_layers: int = 4,
        num_attention_heads: int = 4,
        intermediate_size: int = 1024,
        max_position_embeddings: int = 128,
        dropout: float | None = 0.1,
        hidden_act: Literal["gelu", "gelu_new", "relu"] = "gelu",
    ):
        super().__init__()
        if dropout is not None and not 0 <= dropout < 1:
            raise SeqlabError(f"model.net.dropout={dropout} must lie in [0, 1)")
        if pretrained:
            # from_pretrained returns it in eval mode
            self.model = load_masked_lm(pretrained, dropout=dropout).train()
            limit = self.model.config.max_position_embeddings
            if max_position_embeddings > limit:
                raise SeqlabError(f"dataset.block_size={max_position_embeddings} is longer than the "
                                  f"positions of '{pretrained}' ({limit}); set dataset.block_size to at most "
                                  f"{limit}")
            if vocab_size != self.model.get_input_embeddings().num_embeddings:
                self.model.resize_token_embeddings(vocab_size)
            return
        if hidden_size % num_attention_heads:
            raise SeqlabError(f"model.net.hidden_size={hidden_size} must be a multiple of "
                              f"model.net.num_attention_heads={num_attention_heads}")
        config = BertConfig(
            vocab_size=vocab_size, hidden_size=hidden_size, num_hidden_layers=num_hidden_layers,
            num_attention_heads=num_attention_heads, intermediate_size=intermediate_size,
            max_position_embeddings=max_position_embeddings, hidden_act=hidden_act, pad_token_id=0,
            **dropout_values(BertConfig, dropout),
        )
        self.model = BertForMaskedLM(config)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                chosen: torch.Tensor | None = None) -> torch.Tensor:
        """input_ids, attention_mask [B, T] -> logits over the vocabulary at every position [B, T, V]; given
        `chosen` (bool [B, T]: the positions the loss reads), at those positions only [N, V]. A BERT then runs
        its masked-LM head on the chosen 15% alone: over a vocabulary of thousands, the head at every position
        is a large share of a small BERT's training step."""
        if chosen is None:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).logits
        if not isinstance(self.model, BertForMaskedLM):  # another encoder's head: every position, then pick
            return self.model(input_ids=input_ids, attention_mask=attention_mask).logits[chosen]
        hidden = self.model.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.model.cls(hidden[chosen])
