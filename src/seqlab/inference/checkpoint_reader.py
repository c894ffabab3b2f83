"""Read a Lightning checkpoint file that a seqlab run wrote, tensors only."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from seqlab.errors import SeqlabError


def read_checkpoint(path: str | Path, kind: str) -> dict:
    """The checkpoint's dict, loaded with weights_only: anything else in it, or a file that is not a
    checkpoint, is a SeqlabError naming the file; `kind` ("classification") names what the caller expects, in
    the messages."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise SeqlabError(f"checkpoint {path} does not exist")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, KeyError, ValueError, OSError):
        raise SeqlabError(f"{path} is not a checkpoint a seqlab run wrote (torch.load cannot read it); pass "
                          f"a .ckpt from a {kind} run's checkpoints/ folder") from None
    if not isinstance(checkpoint, dict):
        raise SeqlabError(f"{path} is not a checkpoint a seqlab run wrote; pass a .ckpt from a {kind} run's "
                          "checkpoints/ folder")
    return checkpoint


def net_state_dict(checkpoint: dict) -> dict:
    """The net's weights in a task's checkpoint: the task holds its net as `net`."""
    prefix = "net."
    return {k[len(prefix) :]: v for k, v in checkpoint["state_dict"].items() if k.startswith(prefix)}
