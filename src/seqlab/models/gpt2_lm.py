"""GPT-2 language model (transformers' GPT2LMHeadModel), from a pretrained checkpoint or from
scratch."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from seqlab.errors import SeqlabError

# transformers is imported where used: TextGenerator imports this module for recurrent models too


def context_size(config) -> int | None:
    """How many positions a transformers model can attend over (None: no fixed limit)."""
    for name in ("n_positions", "max_position_embeddings", "n_ctx"):
        value = getattr(config, name, None)
        if isinstance(value, int):
            return value
    return None


class GPT2LanguageModel(nn.Module):
    """From a pretrained checkpoint (hub name or local folder), or from scratch from GPT2Config values.
    The transformers model is `self.model`: save_pretrained / from_pretrained and generate() work on it
    directly."""

    def __init__(
        self,
        vocab_size: int,
        pretrained: str | None = None,
        n_layer: int = 4,
        n_head: int = 4,
        n_embd: int = 256,
        n_positions: int = 256,
        dropout: float | None = 0.1,
        activation_function: Literal["gelu_pytorch_tanh", "gelu_new", "gelu", "relu"] = "gelu_pytorch_tanh",
    ):
        super().__init__()
        if dropout is not None and not 0 <= dropout < 1:
            raise SeqlabError(f"model.net.dropout={dropout} must lie in [0, 1)")
        drops = ({} if dropout is None
                 else {"resid_pdrop": dropout, "embd_pdrop": dropout, "attn_pdrop": dropout})
        if pretrained:
            from seqlab.pretrained.transformers_models import load_causal_lm

            # from_pretrained returns it in eval mode
            self.model = load_causal_lm(pretrained, **drops).train()
            limit = context_size(self.model.config)
            if limit is not None and n_positions > limit:
                raise SeqlabError(
                    f"dataset.block_size={n_positions} is longer than the context of '{pretrained}' ({limit} "
                    f"tokens); set dataset.block_size to at most {limit}"
                )
            if vocab_size > self.model.get_input_embeddings().num_embeddings:
                self.model.resize_token_embeddings(vocab_size)
            return
        from transformers import GPT2Config, GPT2LMHeadModel

        if n_embd % n_head:
            raise SeqlabError(f"model.net.n_embd={n_embd} must be a multiple of model.net.n_head={n_head}")
        config = GPT2Config(  # no special token ids yet: the tokenizer's are set when the model is saved
            vocab_size=vocab_size, n_positions=n_positions, n_embd=n_embd, n_layer=n_layer, n_head=n_head,
            activation_function=activation_function, bos_token_id=None, eos_token_id=None, **drops,
        )
        self.model = GPT2LMHeadModel(config)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """input_ids [B, T] -> next-token logits [B, T, V]. Pads come only after the real tokens (the last,
        short evaluation block), so causal attention keeps them out of every real token's prediction."""
        return self.model(input_ids=input_ids, use_cache=False).logits
