"""The search a translation uses: greedy for beam size 1, beam search otherwise."""

from __future__ import annotations

import torch

from seqlab.decoding.beam_search import beam_search
from seqlab.decoding.greedy_search import greedy_search
from seqlab.decoding.hypothesis import Hypothesis, SearchLimits


def translation_search(net, src_ids: torch.Tensor, src_mask: torch.Tensor, bos_id: int, eos_id: int,
                       beam_size: int, length_penalty: float, limits: SearchLimits) -> list[Hypothesis]:
    """One hypothesis per sentence; the translation task's validation and test and the trained translator all
    decode through here, so that they translate alike."""
    if beam_size == 1:
        return greedy_search(net, src_ids, src_mask, bos_id, eos_id, limits)
    return beam_search(net, src_ids, src_mask, bos_id, eos_id, beam_size, length_penalty, limits)
