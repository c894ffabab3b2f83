"""Read a Lightning checkpoint file written by a seqlab run, with tensors only (weights_only): anything else, or a
file that is not a checkpoint, is a SeqlabError naming it."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from seqlab.errors import SeqlabError


def read_checkpoint(path: str | Path, kind: str) -> dict:
    """The checkpoint's dict; `kind` ("classification") names what the caller expects, in the messages."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise SeqlabError(f"checkpoint {path} does not exist")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, KeyError, ValueError, OSError):
        raise SeqlabError(f"{path} is not a checkpoint a seqlab run wrote (torch.load cannot read it); pass a .ckpt "
                          f"from a {kind} run's checkpoints/ folder") from None
    if not isinstance(checkpoint, dict):
        raise SeqlabError(f"{path} is not a checkpoint a seqlab run wrote; pass a .ckpt from a {kind} run's "
                          "checkpoints/ folder")
    return checkpoint
