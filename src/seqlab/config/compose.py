"""Compose the train config from library code (benchmarks, sweeps' helpers) exactly as the CLI would."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from seqlab.config.project import CONF_DIR


def compose_train_config(overrides: list[str], root_dir: str | Path, run_dir: str | Path) -> DictConfig:
    """The config `python pipelines/train.py <overrides>` builds, with paths rooted at root_dir and the run's
    folder at run_dir. Hydra stays initialised so that config checks can list the choices of each group."""
    GlobalHydra.instance().clear()
    initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3")
    cfg = compose("train", overrides=overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.root_dir = str(Path(root_dir).resolve())
        cfg.paths.output_dir = str(Path(run_dir).resolve())
        del cfg["hydra"]
    return cfg
