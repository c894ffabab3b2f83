"""The epoch's throughput so far (seconds in training batches, tokens), saved in every checkpoint, so that an
epoch resumed mid-way reports the time and tokens of all its batches in train/epoch_sec and
train/tokens_per_sec, not only those after the resume (Lightning does not call on_train_epoch_start again for
an epoch it resumes). Works on any task that keeps a seqlab.tasks.throughput.EpochThroughput as `throughput`."""

from __future__ import annotations

import lightning as L

KEY = "epoch_throughput"


class ThroughputState(L.Callback):
    def __init__(self):
        self.saved: dict | None = None

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        meter = getattr(pl_module, "throughput", None)
        if meter is not None:
            checkpoint[KEY] = {"seconds": float(meter.last - meter.start), "tokens": int(meter.tokens)}

    def on_load_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        self.saved = checkpoint.get(KEY)

    def on_train_start(self, trainer, pl_module) -> None:
        """Goes on counting from the checkpoint; an epoch that starts afresh resets the meter as usual."""
        meter = getattr(pl_module, "throughput", None)
        if self.saved is None or meter is None:
            return
        meter.reset()
        meter.start -= self.saved["seconds"]
        meter.tokens = self.saved["tokens"]
        self.saved = None
