"""Batches padded to their own longest sequence, grouped by length so that little of a batch is padding."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from itertools import chain

import torch
from torch.utils.data import Sampler

BUCKET_BATCHES = 50  # batches' worth of shuffled examples sorted together by length


def pad_sequences(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token id lists -> (ids [B, T] padded with pad_id, mask [B, T] True on real tokens); T = longest."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    width = max(int(lengths.max()), 1) if len(sequences) else 1
    mask = torch.arange(width)[None, :] < lengths[:, None]
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    ids[mask] = torch.tensor(list(chain.from_iterable(sequences)), dtype=torch.long)  # row by row, in order
    return ids, mask


class SeededPermutation(Sampler[int]):
    """0..n-1 shuffled by (seed, epoch). Lightning calls set_epoch on a batch sampler's `sampler` at every
    epoch start, as for DistributedSampler, so each epoch gets its own order and a run repeats exactly."""

    def __init__(self, size: int, seed: int = 0):
        super().__init__()
        self.size, self.seed, self.epoch = size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def rng(self) -> random.Random:
        return random.Random(self.seed * 100003 + self.epoch)

    def __iter__(self) -> Iterator[int]:
        order = list(range(self.size))
        self.rng().shuffle(order)
        return iter(order)

    def __len__(self) -> int:
        return self.size


class LengthGroupedBatchSampler(Sampler[list[int]]):
    """Batches of indices whose lengths are close.

    Training (shuffle=True): each epoch takes the examples in the order of `self.sampler` (a
    SeededPermutation), sorts them by length within buckets of BUCKET_BATCHES batches, cuts batches, and
    shuffles the batch order.
    Evaluation (shuffle=False): batches of the length-sorted examples, in order.
    The sampler splits batches across DDP ranks itself: each rank takes every num_replicas-th batch; ranks
    short of a batch repeat one, so that all take the same number of steps (as torch's DistributedSampler
    repeats examples): the test predictions keep one row per example index, but evaluation metrics aggregated
    over ranks count the repeated batch.
    A run resumed in the middle of an epoch skips the batches that epoch already trained on (`resume_at`).
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, shuffle: bool, seed: int = 0,
                 num_replicas: int = 1, rank: int = 0):
        super().__init__()
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.sampler = SeededPermutation(len(self.lengths), seed) if shuffle else None
        self.num_replicas = num_replicas
        self.rank = rank
        self.skip: tuple[int, int] | None = None  # (epoch, batches already done in it)

    def set_epoch(self, epoch: int) -> None:
        if self.sampler is not None:
            self.sampler.set_epoch(epoch)

    def resume_at(self, epoch: int, batches_done: int) -> None:
        self.skip = (epoch, batches_done)

    def _all_batches(self) -> list[list[int]]:
        if self.sampler is None:
            order = sorted(range(len(self.lengths)), key=lambda i: self.lengths[i])
            return [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        order = list(self.sampler)
        bucket = self.batch_size * BUCKET_BATCHES
        batches = []
        for start in range(0, len(order), bucket):
            chunk = sorted(order[start : start + bucket], key=lambda i: self.lengths[i])
            batches += [chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        self.sampler.rng().shuffle(batches)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._all_batches()
        if self.num_replicas > 1:
            per_rank = math.ceil(len(batches) / self.num_replicas)
            mine = batches[self.rank :: self.num_replicas]
            batches = mine + batches[: per_rank - len(mine)]
        if self.skip is not None and self.sampler is not None and self.skip[0] == self.sampler.epoch:
            batches = batches[self.skip[1] :]
        self.skip = None
        yield from batches

    def __len__(self) -> int:
        batches = math.ceil(len(self.lengths) / self.batch_size)
        return math.ceil(batches / self.num_replicas)
