"""A preset's training step timed on this machine, so that a suite can size a run's epochs to its budget (the
language-model and translation presets decay their learning rate over trainer.max_epochs, so a run cut by
trainer.max_time alone would never reach the end of its schedule)."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from seqlab.benchmarks.runner import runs_dir
from seqlab.config.compose import compose_train_config
from seqlab.config.instantiate import instantiate
from seqlab.errors import SeqlabError

# training steps timed, after one warm-up step: enough batches that a few long or short ones (sentences
# batched by length) do not decide an epoch's estimate
TIMED_STEPS = 32


@dataclass(frozen=True)
class StepTiming:
    seconds: float  # of the timed steps together
    timed_batches: list[dict]
    steps_per_epoch: int

    @property
    def seconds_per_step(self) -> float:
        return self.seconds / len(self.timed_batches)

    def epochs_within(self, minutes: float, fill: float) -> int:
        """The epochs that fill `fill` of `minutes` at this speed (at least one)."""
        return max(1, math.floor(minutes * 60 * fill / (self.seconds_per_step * self.steps_per_epoch)))


def time_training_steps(root: Path, overrides: list[str],
                        loss_of: Callable[[torch.nn.Module, dict], torch.Tensor]) -> StepTiming:
    """The preset's datamodule, net and task built as a run builds them, then up to TIMED_STEPS training
    steps timed after one warm-up step: the loss `loss_of(task, batch)` gives, its backward pass and an AdamW
    step. A preset with a single training batch is an error (nothing is left to time after the warm-up)."""
    cfg = compose_train_config(overrides, root, runs_dir(root) / "calibration")
    datamodule = instantiate(cfg.dataset)
    datamodule.prepare_data()
    datamodule.setup("fit")
    net = instantiate(cfg.model.net, **datamodule.model_kwargs())
    task = instantiate(cfg.model, net=net, monitor=cfg.optimized_metric, **datamodule.task_kwargs())
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-4)
    loader = datamodule.train_dataloader()
    seconds, timed = 0.0, []
    for step, batch in enumerate(itertools.islice(loader, TIMED_STEPS + 1)):
        start = time.perf_counter()
        loss = loss_of(task, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step:  # the first step warms caches up
            seconds += time.perf_counter() - start
            timed.append(batch)
    if not timed:
        raise SeqlabError(f"{' '.join(overrides)} has one training batch: too few to time a step after a "
                          "warm-up one")
    return StepTiming(seconds, timed, len(loader))
