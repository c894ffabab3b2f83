"""Ctrl-C (SIGINT) and SIGTERM stop training at the end of the current batch with a checkpoint saved."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import lightning as L
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities.exceptions import SIGTERMException

INTERRUPTED = "interrupted.ckpt"


class GracefulStop(L.Callback):
    """Saves INTERRUPTED so that `resume=<run_id>` goes on from that very step. A second Ctrl-C stops at once.
    Lightning also stops for SIGTERM during validation and at an epoch's end: the checkpoint is then saved as
    its SIGTERMException goes by."""

    def __init__(self, dirpath: str):
        self.dirpath = Path(dirpath)
        self.interrupted = False
        self.previous = None
        self.saved = False  # the interrupted checkpoint of this stop is written

    def _on_sigint(self, signum, frame) -> None:
        self.interrupted = True
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C: KeyboardInterrupt at once

    def on_train_start(self, trainer, pl_module) -> None:
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._on_sigint)

    def on_train_end(self, trainer, pl_module) -> None:
        self._restore()

    def on_exception(self, trainer, pl_module, exception) -> None:
        self._restore()
        fitting = trainer.state.fn == TrainerFn.FITTING
        if isinstance(exception, SIGTERMException) and fitting and not self.saved:
            self._save(trainer)

    def _restore(self) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
            self.previous = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        # Lightning notes SIGTERM in received_sigterm and raises after this hook: save first
        if not (self.interrupted or trainer.received_sigterm):
            return
        self._save(trainer)
        if self.interrupted:
            raise KeyboardInterrupt

    def _save(self, trainer) -> None:
        trainer.save_checkpoint(self.dirpath / INTERRUPTED)
        self.saved = True
