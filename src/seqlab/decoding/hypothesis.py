"""What a search returns per sentence, and the limits every search shares."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Hypothesis:
    tokens: list[int]  # the generated token ids, without <bos> (or the prompt) and <eos>
    score: float  # log-probability (beam search: divided by the length penalty)
    # [steps, source length]: one row per generated token, <eos> included
    attention: torch.Tensor | None = None
    ended: bool = False  # stopped at <eos> (rather than at the length limit)


@dataclass(frozen=True)
class SearchLimits:
    max_len_a: float = 1.5  # a translation has at most a * source length + b tokens
    max_len_b: int = 10
    max_len: int = 256  # and never more than this

    def per_sentence(self, src_mask: torch.Tensor) -> list[int]:
        lengths = src_mask.sum(1).tolist()
        return [max(1, min(self.max_len, int(n * self.max_len_a + self.max_len_b))) for n in lengths]


DEFAULT_LIMITS = SearchLimits()


def length_penalty(length: int, alpha: float) -> float:
    """Wu et al. (2016): ((5 + length) / 6) ** alpha; alpha 0 ranks by raw log-probability."""
    return ((5.0 + length) / 6.0) ** alpha
