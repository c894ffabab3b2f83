"""Stop a run whose training loss is NaN or infinite, naming the step and the last good checkpoint."""

from __future__ import annotations

import math

import lightning as L

from seqlab.errors import SeqlabError
from seqlab.training.resumption import newest_checkpoint


class FiniteLossCheck(L.Callback):
    def __init__(self, dirpath: str):
        self.dirpath = dirpath

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is None:
            return
        value = float(loss.detach())
        if math.isfinite(value):
            return
        last = newest_checkpoint(self.dirpath)
        where = f"the last good checkpoint is {last}" if last else "no checkpoint was written before it"
        raise SeqlabError(
            f"the training loss became {value} at step {trainer.global_step} "
            f"(epoch {trainer.current_epoch}); {where}; lower model.optimizer.lr or set "
            "trainer.gradient_clip_val (e.g. 1.0), then train again"
        )
