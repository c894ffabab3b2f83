"""Rebuild a saved net from its config (net.json, or the net_config of a checkpoint): the _target_ and constructor
arguments it was trained with. Only classes under seqlab.models are built: nothing saved is run as code."""

from __future__ import annotations

import torch
from hydra.utils import get_class

from seqlab.errors import SeqlabError


def build_net(net_config: dict) -> torch.nn.Module:
    config = dict(net_config)
    target = config.pop("_target_", "")
    if not target.startswith("seqlab.models."):
        raise SeqlabError(f"refusing to build '{target}': only seqlab.models classes can be loaded")
    return get_class(target)(**config)
