"""Blocks of a token stream for masked-language-model pretraining, and their masking."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch.utils.data import Dataset

if TYPE_CHECKING:
    from seqlab.data.token_cache import TokenIds

EVAL_EPOCH = -1  # the "epoch" of the evaluation masks: one fixed set


class MaskedBlocks(Dataset):
    """Index: a start position in the stream; item: (start, [CLS] + up to block_size - 2 tokens + [SEP]).

    The block starting at s is [CLS] ids[s : s + block_size - 2] [SEP]; the starts come from token_blocks'
    BlockSampler (random offset and order each training epoch, in order for evaluation) with a stride of
    block_size - 2.
    """

    def __init__(self, ids: TokenIds | torch.Tensor, block_size: int, cls_id: int, sep_id: int):
        self.ids, self.content = ids, block_size - 2
        self.cls, self.sep = torch.tensor([cls_id]), torch.tensor([sep_id])

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, start: int) -> tuple[int, torch.Tensor]:
        return start, torch.cat([self.cls, self.ids[start : start + self.content], self.sep])


class SeededMasking:
    """(start, block) items -> {input_ids, attention_mask, labels [B, T]} (labels -100 where nothing is
    masked), masked by `collator` under a seed of (seed, the sampler's epoch or EVAL_EPOCH, the blocks'
    starts).

    The collator is transformers' DataCollatorForLanguageModeling (of the tokens that are not special,
    mlm_probability chosen; of those 80% become [MASK], 10% a random token, 10% stay). Seeded so, the same
    blocks get the same masks whether a run was resumed or not, and validation masks the same tokens in every
    epoch, so that its loss compares across epochs.
    """

    def __init__(self, collator, seed: int, sampler):
        self.collator, self.seed, self.sampler = collator, seed, sampler

    def __call__(self, items: list[tuple[int, torch.Tensor]]) -> dict:
        epoch = self.sampler.epoch if self.sampler.shuffle else EVAL_EPOCH
        seed = hash((self.seed, epoch, *(start for start, _ in items))) & 0x7FFF_FFFF_FFFF_FFFF
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return dict(self.collator([{"input_ids": block} for _, block in items]))
