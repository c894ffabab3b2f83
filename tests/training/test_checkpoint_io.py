"""Checkpoint writes are atomic: a save that dies half-way leaves the previous checkpoint whole."""

from __future__ import annotations

import pytest
import torch

from seqlab.training.atomic_checkpoint_io import AtomicCheckpointIO
from seqlab.training.resumption import newest_checkpoint


def test_a_save_that_dies_midway_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    io = AtomicCheckpointIO()
    target = tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"global_step": 1, "w": torch.ones(3)}, target)

    def dies(obj, fh, *args, **kwargs):
        fh.write(b"half a checkpoint")
        raise KeyboardInterrupt  # killed in the middle of writing

    monkeypatch.setattr(torch, "save", dies)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"global_step": 2, "w": torch.zeros(3)}, target)
    monkeypatch.undo()

    saved = torch.load(target, weights_only=True)
    assert saved["global_step"] == 1 and torch.equal(saved["w"], torch.ones(3))
    assert newest_checkpoint(target.parent) == target  # the partial file is never taken for a checkpoint


def test_sigterm_outside_a_training_batch_still_saves_the_interrupted_checkpoint(tmp_path):
    """Lightning also raises SIGTERMException during validation and at an epoch's end, after no training batch
    hook: the checkpoint is saved as the exception goes by, once, and only while fitting."""
    from types import SimpleNamespace

    from lightning.pytorch.trainer.states import TrainerFn
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from seqlab.training.graceful_stop import INTERRUPTED, GracefulStop

    saved = []
    trainer = SimpleNamespace(state=SimpleNamespace(fn=TrainerFn.FITTING), save_checkpoint=saved.append)
    stop = GracefulStop(str(tmp_path))
    stop.on_exception(trainer, None, SIGTERMException())
    stop.on_exception(trainer, None, SIGTERMException())
    assert saved == [tmp_path / INTERRUPTED]
    testing = SimpleNamespace(state=SimpleNamespace(fn=TrainerFn.TESTING), save_checkpoint=saved.append)
    GracefulStop(str(tmp_path)).on_exception(testing, None, SIGTERMException())
    GracefulStop(str(tmp_path)).on_exception(trainer, None, ValueError("not a stop"))
    assert saved == [tmp_path / INTERRUPTED]
