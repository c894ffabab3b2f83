"""Rebuild a saved net: from a folder saved the Hugging Face way (its config.json names the net's class), or
from the net_config of a Lightning checkpoint. Only classes defined in seqlab.models are built: nothing saved
is run as code."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import torch
from safetensors import SafetensorError

from seqlab.errors import SeqlabError
from seqlab.models.hub_mixin import ARCHITECTURE, NetHubMixin


def net_class(target: str) -> type[torch.nn.Module]:
    """The class `target` names (seqlab.models.<module>.<Class>), if it is a net defined in seqlab.models."""
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
    return cls


def build_net(net_config: dict) -> torch.nn.Module:
    """The net of the _target_ and constructor arguments it was trained with (a checkpoint's net_config)."""
    config = dict(net_config)
    return net_class(config.pop("_target_", ""))(**config)


def saved_architecture(folder: str | Path) -> str | None:
    """The class a seqlab net saved in `folder` names in its config.json; None where the folder holds no such
    net (no config.json, or a transformers model's)."""
    path = Path(folder) / "config.json"
    if not path.is_file():
        return None
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise SeqlabError(f"{folder} is not a saved model: its config.json cannot be read "
                          f"({_first_line(err)}); save the model again") from None
    found = config.get(ARCHITECTURE) if isinstance(config, dict) else None
    return found if isinstance(found, str) else None


def load_net(folder: str | Path) -> torch.nn.Module:
    """The seqlab net saved in `folder` by save_pretrained: the class its config.json names (only one defined
    in seqlab.models), then <Class>.from_pretrained(folder)."""
    folder = Path(folder)
    target = saved_architecture(folder)
    if target is None:
        older = ("; its net.json is an older seqlab's layout: load the run's checkpoint instead"
                 if (folder / "net.json").is_file() else "")
        raise SeqlabError(f"{folder} holds no saved seqlab net (no config.json naming its '{ARCHITECTURE}')"
                          + older)
    cls = net_class(target)
    if not issubclass(cls, NetHubMixin):  # a seqlab.models class that is not saved this way
        raise SeqlabError(f"refusing to build '{target}': only seqlab.models classes can be loaded")
    try:
        return cls.from_pretrained(folder)
    # missing or other weights, a constructor argument config.json lacks
    except (OSError, ValueError, TypeError, RuntimeError, SafetensorError) as err:
        raise SeqlabError(f"{folder} is not a saved seqlab net: {_first_line(err)}") from None


def _first_line(err: BaseException) -> str:
    return (str(err).splitlines() or [type(err).__name__])[0][:300]
