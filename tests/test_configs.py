"""Every preset composes, and every composed config passes seqlab's own checks."""

from __future__ import annotations

import pytest
from conftest import CONF
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from seqlab.config_check import check_config

EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
SEARCHES = sorted(p.stem for p in (CONF / "hparams_search").glob("*.yaml"))


@pytest.fixture
def hydra_compose():
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        yield lambda overrides: compose("train", overrides=overrides, return_hydra_config=True)
    GlobalHydra.instance().clear()


@pytest.mark.parametrize("experiment", EXPERIMENTS)
@pytest.mark.parametrize("debug", ["smoke", "fast_dev_run", "overfit"])
def test_every_experiment_composes_and_checks(hydra_compose, experiment, debug):
    cfg = hydra_compose([f"experiment={experiment}", f"debug={debug}"])
    check_config(cfg)
    assert cfg.optimized_metric in str(cfg.callbacks.model_checkpoint.monitor)


@pytest.mark.parametrize("search", SEARCHES)
def test_every_sweep_preset_composes(hydra_compose, search):
    cfg = hydra_compose([f"hparams_search={search}"])
    check_config(cfg)
    assert cfg.hydra.mode.name == "MULTIRUN"
    assert cfg.hydra.sweeper.storage is None  # in-memory study
    assert cfg.hydra.sweeper.params
    direction = "maximize" if cfg.optimized_mode == "max" else "minimize"
    assert cfg.hydra.sweeper.direction == direction


@pytest.mark.parametrize(
    "launcher, target",
    [
        ("joblib", "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"),
        ("submitit_slurm", "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"),
        ("ray", "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher"),
    ],
)
def test_cluster_launchers_compose(hydra_compose, launcher, target):
    cfg = hydra_compose([f"hydra/launcher={launcher}"])
    assert cfg.hydra.launcher._target_ == target


def test_trainer_presets(hydra_compose):
    assert hydra_compose(["trainer=gpu"]).trainer.precision == "bf16-mixed"
    ddp = hydra_compose(["trainer=ddp"]).trainer
    assert ddp.strategy == "ddp" and ddp.use_distributed_sampler is False
