"""Every preset composes, and every composed config passes seqlab's own checks."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from seqlab.config.checks import check_config
from seqlab.errors import SeqlabError

from conftest import CONF

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


SPACY_EXPERIMENTS = [e for e in EXPERIMENTS
                     if "override /model: spacy_ner" in (CONF / "experiment" / f"{e}.yaml").read_text()]


@pytest.mark.parametrize("experiment", SPACY_EXPERIMENTS)
@pytest.mark.parametrize("debug", ["smoke", "fast_dev_run", "overfit"])
def test_debug_presets_bound_spacy_training_too(hydra_compose, experiment, debug):
    """spaCy's loop takes no trainer options: the debug presets bound it through the model's own values."""
    full = hydra_compose([f"experiment={experiment}"])
    cfg = hydra_compose([f"experiment={experiment}", f"debug={debug}"])
    assert (full.model.max_epochs, full.model.max_steps, full.model.eval_frequency) == (30, 0, 200)
    assert full.dataset.max_train_samples is None and full.dataset.max_eval_samples is None
    assert cfg.dataset.max_train_samples and cfg.dataset.max_eval_samples  # a slice of the data
    if debug == "overfit":  # a handful of sentences, many passes, no early stop
        assert cfg.dataset.max_train_samples <= 20 and cfg.model.max_epochs >= 100 and cfg.model.patience == 0
    else:  # a few updates, evaluated more than once
        assert 0 < cfg.model.max_steps <= 50 and cfg.model.eval_frequency <= cfg.model.max_steps
    assert (cfg.optimized_metric, cfg.optimized_mode) == ("val/ents_f", "max")


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
    assert ddp.strategy == "ddp"
    for trainer in ("default", "cpu", "gpu", "ddp"):  # trainer.devices=2 alone makes a DDP run too
        assert hydra_compose([f"trainer={trainer}"]).trainer.use_distributed_sampler is False, trainer


def test_the_trainer_arguments_users_reach_for_override_without_a_plus(hydra_compose, tmp_path):
    from hydra.utils import instantiate
    from lightning.pytorch.callbacks import Timer

    cfg = hydra_compose(["trainer.max_time=00:00:01:30", "trainer.accumulate_grad_batches=4",
                         "trainer.val_check_interval=0.5", "trainer.limit_train_batches=7"])
    trainer = instantiate(cfg.trainer, logger=False, enable_progress_bar=False, default_root_dir=str(tmp_path))
    assert (trainer.accumulate_grad_batches, trainer.val_check_interval, trainer.limit_train_batches) == (4, 0.5, 7)
    timer = next(c for c in trainer.callbacks if isinstance(c, Timer))  # what stops training at max_time
    assert timer.time_remaining() == 90


def test_an_optimized_mode_against_its_metric_is_refused(hydra_compose):
    cfg = hydra_compose(["experiment=translate_attention", "optimized_metric=val/loss"])
    with pytest.raises(SeqlabError, match=r"optimized_metric=val/loss is better lower, but optimized_mode=max: "
                                          r"set optimized_mode=min too"):
        check_config(cfg)
    cfg = hydra_compose(["experiment=translate_attention", "optimized_metric=val/loss", "optimized_mode=min"])
    check_config(cfg)
    assert cfg.model.scheduler.mode == "min"  # the learning-rate schedule follows the mode too


COMMENTED = [CONF / "dataset" / f"{name}.yaml" for name in ("files", "toy", "sst2", "wnut17", "ner_files")] + \
    sorted((CONF / "trainer").glob("*.yaml")) + [CONF / "callbacks" / "default.yaml", CONF / "model" / "spacy_ner.yaml"]


@pytest.mark.parametrize("path", COMMENTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_option_has_a_comment(path):
    """DESIGN.md: every option has a default and a short comment in the YAML (on its line)."""
    import re

    options = [(number, line) for number, line in enumerate(path.read_text().splitlines(), start=1)
               if re.match(r"\s*(- )?[A-Za-z_]\w*:\s*\S", line.split("#")[0])]  # a key with a value on its line
    bare = [f"line {n}: {line.strip()}" for n, line in options
            if "#" not in line and not re.match(r"\s*(- )?(_target_|defaults):", line)]
    assert not bare, bare


def test_a_gpt2_context_shorter_than_the_blocks_is_refused(hydra_compose):
    cfg = hydra_compose(["experiment=gpt2_scratch", "model.net.n_positions=64"])
    with pytest.raises(SeqlabError, match=r"model.net.n_positions=64 is shorter than dataset.block_size=\d+: a block"):
        check_config(cfg)


@pytest.mark.parametrize("experiment, supplied", [
    ("sentiment_lstm", {"vocab_size", "num_classes"}),
    ("translate_attention", {"src_vocab_size", "tgt_vocab_size"}),
    ("gpt2_scratch", {"vocab_size"}),
])
def test_an_unknown_net_option_lists_what_a_config_may_set_not_what_the_data_supplies(hydra_compose, experiment,
                                                                                        supplied):
    cfg = hydra_compose([f"experiment={experiment}", "+model.net.no_such_option=1"])
    with pytest.raises(SeqlabError, match=r"unknown option model.net.no_such_option; options of \w+: ") as caught:
        check_config(cfg)
    options = set(str(caught.value).rpartition(": ")[2].split(", "))
    assert options and not options & supplied, options
    assert "dropout" in options or "n_layer" in options  # a real option is still offered
