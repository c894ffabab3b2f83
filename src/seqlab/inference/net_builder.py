"""Rebuild a saved net from its config (net.json, or the net_config of a checkpoint)."""

from __future__ import annotations

import importlib

import torch

from seqlab.errors import SeqlabError


def build_net(net_config: dict) -> torch.nn.Module:
    """The net of the _target_ and constructor arguments it was trained with. Only classes under seqlab.models
    are built: nothing saved is run as code."""
    config = dict(net_config)
    target = config.pop("_target_", "")
    refused = SeqlabError(f"refusing to build '{target}': only seqlab.models classes can be loaded")
    if not target.startswith("seqlab.models."):
        raise refused
    module, _, name = target.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise refused from None
    # a name a seqlab.models module imported (seqlab.models.rnn_lm.nn) is a class defined elsewhere
    is_module = isinstance(cls, type) and issubclass(cls, torch.nn.Module)
    if not (is_module and cls.__module__.startswith("seqlab.models.")):
        raise refused
    return cls(**config)
