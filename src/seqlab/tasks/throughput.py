"""Training throughput per epoch: seconds spent in training batches and real (non-pad) tokens per second."""

from __future__ import annotations

import time


class EpochThroughput:
    def __init__(self):
        self.start = self.last = time.perf_counter()
        self.tokens = 0

    def reset(self) -> None:
        self.start = self.last = time.perf_counter()
        self.tokens = 0

    def add(self, tokens: int) -> None:
        self.tokens += tokens
        self.last = time.perf_counter()

    def state(self) -> dict:
        return {"seconds": float(self.last - self.start), "tokens": int(self.tokens)}

    def restore(self, state: dict) -> None:
        """Goes on counting from a checkpoint's state: an epoch resumed mid-way reports all its batches."""
        self.reset()
        self.start -= state["seconds"]
        self.tokens = state["tokens"]

    def metrics(self, prefix: str = "train") -> dict[str, float]:
        seconds = max(self.last - self.start, 1e-9)
        return {f"{prefix}/epoch_sec": seconds, f"{prefix}/tokens_per_sec": self.tokens / seconds}
