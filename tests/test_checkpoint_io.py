"""Checkpoint writes are atomic: a save that dies half-way leaves the previous checkpoint whole."""

from __future__ import annotations

import pytest
import torch

from seqlab.training.atomic_checkpoint_io import AtomicCheckpointIO
from seqlab.training.finite_loss import newest_checkpoint


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
