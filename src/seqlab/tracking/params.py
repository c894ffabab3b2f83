"""The resolved config as MLflow params: one param per leaf, dotted names, values cut to what stores accept."""

from __future__ import annotations

from collections.abc import Mapping

from omegaconf import DictConfig, OmegaConf

MAX_VALUE = 250  # the longest param value every MLflow store accepts


def flatten_config(cfg: DictConfig | Mapping, prefix: str = "") -> dict[str, str]:
    data = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg
    flat: dict[str, str] = {}
    _flatten(data, prefix, flat)
    return flat


def _flatten(value, key: str, out: dict[str, str]) -> None:
    if isinstance(value, Mapping) and value:
        for name, child in value.items():
            _flatten(child, f"{key}.{name}" if key else str(name), out)
        return
    text = str(value)
    out[key] = text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 3] + "..."
