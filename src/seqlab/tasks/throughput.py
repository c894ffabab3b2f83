"""Training throughput of an epoch: seconds in training batches, tokens and examples per second."""

from __future__ import annotations

import time


class EpochThroughput:
    """Seconds spent in training batches, real (non-pad) tokens per second and, where the task counts
    them, training examples per second."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.start = self.last = time.perf_counter()
        self.tokens = self.examples = 0

    def add(self, tokens: int, examples: int = 0) -> None:
        self.tokens += tokens
        self.examples += examples
        self.last = time.perf_counter()

    def state(self) -> dict:
        return {"seconds": float(self.last - self.start), "tokens": int(self.tokens),
                "examples": int(self.examples)}

    def restore(self, state: dict) -> None:
        """Goes on counting from a checkpoint's state: an epoch resumed mid-way reports all its batches."""
        self.reset()
        self.start -= state["seconds"]
        self.tokens = state["tokens"]
        self.examples = state.get("examples", 0)

    def metrics(self, prefix: str = "train") -> dict[str, float]:
        seconds = max(self.last - self.start, 1e-9)
        figures = {f"{prefix}/epoch_sec": seconds, f"{prefix}/tokens_per_sec": self.tokens / seconds}
        if self.examples:
            figures[f"{prefix}/examples_per_sec"] = self.examples / seconds
        return figures
