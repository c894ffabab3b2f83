"""Random-number generator states saved in every checkpoint and restored with it."""

from __future__ import annotations

import random

import lightning as L
import numpy as np
import torch

KEY = "rng_states"


def collect_rng_states() -> dict:
    """Python's, numpy's, torch's and CUDA's states, as tensors and plain Python values, so that the
    checkpoint still loads with torch.load(weights_only=True)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    states = {
        "python": random.getstate(),
        "numpy": [name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict) -> None:
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


class RngStateCheckpoint(L.Callback):
    """A resumed run draws the same dropout masks and samples as one that never stopped."""

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        checkpoint[KEY] = collect_rng_states()

    def on_load_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        if KEY in checkpoint:
            set_rng_states(checkpoint[KEY])
