"""A Lightning callback that notes when a run's first optimizer step is done (seqlab's side of a case)."""

from __future__ import annotations

import time

from lightning.pytorch.callbacks import Callback

# added to seqlab's side of a case, so that it reports the seconds from the command to the first step beside
# its peers'
OVERRIDE = f"+callbacks.first_step._target_={__name__}.FirstOptimizerStep"


class FirstOptimizerStep(Callback):
    """Notes time.time() when the first optimizer step is done (a class attribute: one run a process)."""

    at: float | None = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if FirstOptimizerStep.at is None and trainer.global_step > 0:
            FirstOptimizerStep.at = time.time()
