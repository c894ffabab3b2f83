"""Word dropout: while training, each real token becomes <unk> with probability p."""

from __future__ import annotations

import torch
from torch import nn


class WordDropout(nn.Module):
    """Each real token becomes <unk> with probability p while training, so that the model leans on no single
    word and learns an <unk> embedding for the words it will meet only at test time."""

    def __init__(self, p: float = 0.0, unk_id: int = 1):
        super().__init__()
        self.p = p
        self.unk_id = unk_id

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p <= 0:
            return input_ids
        drop = (torch.rand(input_ids.shape, device=input_ids.device) < self.p) & attention_mask
        return input_ids.masked_fill(drop, self.unk_id)
