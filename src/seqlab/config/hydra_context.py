"""What a run knows of how Hydra started it: the chosen config options and the command-line overrides."""

from __future__ import annotations

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode


def hydra_choice(group: str, default: str = "") -> str:
    try:
        return str(HydraConfig.get().runtime.choices.get(group) or default)
    except ValueError:  # not started by Hydra
        return default


def hydra_overrides() -> list[str]:
    try:
        return list(HydraConfig.get().overrides.task)
    except ValueError:
        return []


def is_multirun() -> bool:
    try:
        return HydraConfig.get().mode == RunMode.MULTIRUN
    except ValueError:
        return False
