"""A run's MLflow params: the resolved config (one param per leaf, dotted names, values cut to what stores
accept), the library versions and the data files' digests."""

from __future__ import annotations

import platform
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from seqlab.tracking.datasets import file_sha256

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


def environment_params() -> dict[str, str]:
    """What a run needs to be repeated: the versions of Python and the libraries that compute its results."""
    params = {"env.python": platform.python_version()}
    for package in ("torch", "lightning", "transformers", "tokenizers", "spacy", "numpy", "seqlab"):
        try:
            params[f"env.{package}"] = version(package)
        except PackageNotFoundError:
            continue
    return params


def data_file_params(datamodule) -> dict[str, str]:
    """sha256 of every data file the run read, as data.sha256.<file name>."""
    files = getattr(datamodule, "data_files", list)()
    return {f"data.sha256.{Path(path).name}": file_sha256(path) for path in files}
