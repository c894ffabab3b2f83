"""Contiguous blocks of a token stream for next-token prediction."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch
from torch.utils.data import Dataset, Sampler

if TYPE_CHECKING:
    from seqlab.data.token_cache import TokenIds

IGNORE = -100  # label of padding: no loss


class TokenBlocks(Dataset):
    """Index: a start position in the stream (a tensor, or a split's memory-mapped TokenIds); item: the
    block's ids (block_size + 1 of them, fewer at the end).

    The block starting at s is ids[s : s + block_size + 1]: the model reads the first block_size tokens and
    predicts each one's successor.
    """

    def __init__(self, ids: TokenIds | torch.Tensor, block_size: int):
        self.ids, self.block_size = ids, block_size

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, start: int) -> torch.Tensor:
        return self.ids[start : start + self.block_size + 1]


class BlockSampler(Sampler[int]):
    """The blocks' start positions.

    Training (shuffle=True) cuts the stream at a new random offset each epoch and shuffles the blocks, so
    that the model sees every boundary; seeded by (seed, epoch), a run repeats exactly.
    Evaluation cuts at offset 0, in order, and keeps the last, shorter block, so that every token but the
    first is predicted once.
    With several ranks each takes every num_replicas-th block; ranks short of one repeat a block (whose tokens
    then count twice in evaluation metrics aggregated over ranks, as with torch's DistributedSampler).
    A run resumed in the middle of an epoch skips the blocks that epoch already trained on (`resume_at`).
    """

    def __init__(self, n_tokens: int, block_size: int, shuffle: bool, seed: int = 0,
                 max_blocks: int | None = None, num_replicas: int = 1, rank: int = 0):
        super().__init__()
        self.n_tokens, self.block_size, self.shuffle, self.seed = n_tokens, block_size, shuffle, seed
        self.max_blocks, self.num_replicas, self.rank = max_blocks, num_replicas, rank
        self.epoch = 0
        self.skip: tuple[int, int] | None = None  # (epoch, blocks of this rank already trained on in it)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def resume_at(self, epoch: int, blocks_done: int) -> None:
        self.skip = (epoch, blocks_done)

    def _count(self) -> int:
        if self.shuffle:  # whole blocks at the worst offset
            count = (self.n_tokens - self._offsets()) // self.block_size
        else:  # every token but the first is a target once
            count = math.ceil((self.n_tokens - 1) / self.block_size)
        return min(count, self.max_blocks) if self.max_blocks else count

    def _offsets(self) -> int:
        """How many offsets a training epoch may start at: below block_size, and leaving one whole block."""
        return max(1, min(self.block_size, self.n_tokens - self.block_size))

    def starts(self) -> list[int]:
        count = self._count()
        if not self.shuffle:
            return [i * self.block_size for i in range(count)]
        rng = random.Random(self.seed * 100003 + self.epoch)
        offset = rng.randrange(self._offsets())
        starts = list(range(offset, self.n_tokens - self.block_size, self.block_size))
        rng.shuffle(starts)
        return starts[:count]

    def __iter__(self) -> Iterator[int]:
        starts = self.starts()
        if self.num_replicas > 1:
            mine = starts[self.rank :: self.num_replicas]
            starts = mine + starts[: len(self) - len(mine)]
        if self.skip is not None and self.shuffle and self.skip[0] == self.epoch:
            starts = starts[self.skip[1] :]
        self.skip = None
        yield from starts

    def __len__(self) -> int:
        return math.ceil(self._count() / self.num_replicas)


class BlockCollator:
    """Blocks -> {input_ids [B, T], labels [B, T]}; a short block is padded with pad_id and its padded labels
    are IGNORE."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, blocks: list[torch.Tensor]) -> dict:
        width = max(len(b) for b in blocks) - 1
        input_ids = torch.full((len(blocks), width), self.pad_id, dtype=torch.long)
        labels = torch.full((len(blocks), width), IGNORE, dtype=torch.long)
        for row, block in enumerate(blocks):
            input_ids[row, : len(block) - 1] = block[:-1]
            labels[row, : len(block) - 1] = block[1:]
        return {"input_ids": input_ids, "labels": labels}
