"""One training run: config -> DataModule -> net -> task -> Trainer.fit/test -> tracked outputs -> metric."""

from __future__ import annotations

import math
import os
import shlex
import warnings
from pathlib import Path

import lightning as L
from hydra.utils import get_class
from lightning.pytorch.callbacks import ProgressBar
from lightning.pytorch.utilities import rank_zero_only
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, OmegaConf, open_dict

from seqlab.config.checks import check_config, check_required, task_of
from seqlab.config.hydra_context import hydra_choice, hydra_overrides, is_multirun
from seqlab.config.instantiate import instantiate
from seqlab.errors import SeqlabError
from seqlab.ner.task import SpacyNerTask
from seqlab.reports.run_summary import print_summary
from seqlab.tracking.datasets import data_splits
from seqlab.tracking.lineage import lineage_tags, weights_run
from seqlab.tracking.params import data_file_params, environment_params, flatten_config
from seqlab.tracking.run_info import (
    command_line,
    experiment_name,
    git_commit,
    ray_worker_tags,
    run_name,
    source_tags,
)
from seqlab.tracking.sweep import OBJECTIVE, sweep_tags
from seqlab.tracking.tracker import NullTracker
from seqlab.training.resumption import restore_datamodule, resume_checkpoint, resume_run

RUN_DIR_ENV = "SEQLAB_RUN_DIR"  # shared with DDP ranks that Lightning re-launches


def train(cfg: DictConfig) -> float | None:
    """Train and test the configured model; returns cfg.optimized_metric (best validation value), None when
    the run never logged it."""
    check_required(cfg)  # before any record: a run that cannot start leaves none
    L.seed_everything(cfg.seed, workers=True)
    tracker = instantiate(cfg.logger) if rank_zero_only.rank == 0 else NullTracker()
    if cfg.get("register") and rank_zero_only.rank == 0 and not tracker.has_registry:
        raise SeqlabError(f"register={cfg.register} registers the run's model in MLflow's model registry: "
                          "train with logger=mlflow (the default), or drop register=")
    source = weights_run(OmegaConf.select(cfg, "model.net"))  # mlflow:<run_id>: the run it starts from
    resuming = bool(cfg.get("resume"))
    if resuming and is_multirun():
        raise SeqlabError("resume=<run_id> continues one run: run it without --multirun (make resume "
                          "RUN=<id>)")
    try:
        check_config(cfg)
    except SeqlabError:
        # a new run's bad config is recorded as a FAILED run; a run to resume keeps its status
        if not resuming:
            _start_run(cfg, tracker, source)
            tracker.end("FAILED")
        raise
    run_dir = _reopen_run(cfg, tracker) if resuming else _start_run(cfg, tracker, source)
    os.environ[RUN_DIR_ENV] = str(run_dir)
    try:
        resume_from = resume_checkpoint(run_dir) if resuming else None
        if get_class(cfg.model._target_) is SpacyNerTask:  # spaCy's pipelines train in spaCy's own loop
            value = SpacyNerTask.run(cfg, tracker, run_dir)
        else:
            value = _fit_and_test(cfg, tracker, run_dir, resume_from)
    except BaseException as err:
        tracker.end("KILLED" if _interrupted(err) else "FAILED")
        raise
    finally:
        os.environ.pop(RUN_DIR_ENV, None)
    if not math.isnan(value):
        tracker.log_metrics({OBJECTIVE: value})
    if source:
        tracker.record_fine_tuning(source)
    tracker.end("FINISHED")
    if cfg.get("register") and not is_multirun():  # a sweep registers its best trial (seqlab.tracking.sweep)
        tracker.register_model(str(cfg.register))
    return None if math.isnan(value) else value  # none: the metric was never logged, a failure to a sweeper


def _start_run(cfg: DictConfig, tracker, source: str | None) -> Path:
    """A new MLflow run, the config as its params and the tags that find it again; returns its folder."""
    run_dir = Path(cfg.paths.output_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    task_name = task_of(cfg.dataset._target_)
    family = hydra_choice("family")  # a family of the transfer report (conf/family/)
    tags = {
        "git_commit": git_commit(cfg.paths.root_dir),
        "overrides": shlex.join(hydra_overrides())[:5000],
        "command": command_line()[:5000],
        **source_tags(),
        "model": hydra_choice("model", cfg.model._target_.rsplit(".", 1)[-1]),
        "dataset": cfg.dataset.name,
        "task": task_name,
        **({"family": family} if family else {}),
        **sweep_tags(),
        **ray_worker_tags(),
        **lineage_tags(source),
    }
    tracker.start(experiment_name(cfg.dataset.name, task_name), run_name(tags["model"], hydra_overrides()),
                  {**flatten_config(cfg), **environment_params()}, tags, str(run_dir))
    return run_dir


def _reopen_run(cfg: DictConfig, tracker) -> Path:
    """The run cfg.resume names, reopened by rank 0, which passes its folder on to the other DDP ranks that
    Lightning re-launches (their output_dir is ${oc.env:SEQLAB_RUN_DIR}); those write no record."""
    if rank_zero_only.rank != 0:
        return Path(cfg.paths.output_dir)
    run_dir = Path(resume_run(tracker, cfg.resume))
    tracker.set_tags({"resumed_with": shlex.join(hydra_overrides())[:5000]})  # its own overrides, and any
    with open_dict(cfg):
        cfg.paths.output_dir = str(run_dir)
    return run_dir


def _interrupted(err: BaseException) -> bool:
    """Ctrl-C or SIGTERM: Lightning turns both into SystemExit after its graceful shutdown."""
    return isinstance(err, (KeyboardInterrupt, SIGTERMException)) or (
        isinstance(err, SystemExit) and isinstance(err.__context__, KeyboardInterrupt)
    )


def _fit_and_test(cfg: DictConfig, tracker, run_dir: Path, resume_from: Path | None) -> float:
    datamodule = instantiate(cfg.dataset)
    if resume_from:
        restore_datamodule(datamodule, resume_from)  # the tokenizer and position of the run being resumed
    datamodule.prepare_data()
    datamodule.setup("fit")
    if not resume_from:
        tracker.log_params(data_file_params(datamodule))
        tracker.log_datasets(data_splits(cfg.dataset.name, datamodule))
    net_arguments = datamodule.model_kwargs()  # what the data decides: vocabulary size, classes, padding id
    # plain lists and dicts, not Hydra's: a net records its constructor arguments in config.json when saved
    net = instantiate(cfg.model.net, _convert_="all", **net_arguments)
    task = instantiate(cfg.model, net=net, monitor=cfg.optimized_metric, **datamodule.task_kwargs())
    task.net_config = {**OmegaConf.to_container(cfg.model.net, resolve=True), **net_arguments}

    logger = tracker.lightning_logger()
    callbacks = [instantiate(c) for c in (cfg.callbacks or {}).values() if c is not None]
    if logger is None:
        callbacks = [c for c in callbacks if type(c).__name__ != "LearningRateMonitor"]
    # callbacks.rich_progress_bar=null means no bar at all, not Lightning's default one
    bar = any(isinstance(c, ProgressBar) for c in callbacks) and cfg.trainer.get("enable_progress_bar", True)
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=logger if logger is not None else False,
                          enable_progress_bar=bar)
    with warnings.catch_warnings():
        # a run resumed mid-epoch goes on from the batch it stopped at: restore_datamodule handed the
        # datamodule its position, which its sampler skips to; Lightning, seeing no DataLoader state, warns
        warnings.filterwarnings("ignore", message="You're resuming from a checkpoint that ended before the")
        trainer.fit(task, datamodule=datamodule, ckpt_path=resume_from, weights_only=True)
    best = _best_checkpointing(cfg, trainer)
    value = _optimized_value(cfg, trainer, best)
    checkpoint = (best.best_model_path or None) if best else None  # none: test the weights training ended
    trainer.test(task, datamodule=datamodule, ckpt_path=checkpoint, weights_only=True)
    final = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("test/")}
    if trainer.is_global_zero:
        OmegaConf.save(cfg, run_dir / "config.yaml", resolve=True)
        tracker.log_artifact(run_dir / "config.yaml")
        if checkpoint:
            tracker.log_artifact(checkpoint, "checkpoints")
        outputs = task.write_outputs(datamodule, run_dir)
        if outputs.reports:
            tracker.log_artifact(outputs.reports, "reports")
        for artifact_path, path in outputs.extra.items():
            tracker.log_artifact(path, artifact_path)
        if outputs.model_dir:
            tracker.log_model(outputs.model_dir, outputs.model_kind, outputs.examples)
        final[f"best {cfg.optimized_metric}"] = value
        print_summary(final, tracker.run_id, run_dir)
    return value


def _best_checkpointing(cfg: DictConfig, trainer):
    """The ModelCheckpoint that keeps the best cfg.optimized_metric, if any: not the periodic one (no
    monitor), whose newest file may be hundreds of steps older than the end of training."""
    return next((c for c in trainer.checkpoint_callbacks if c.monitor == cfg.optimized_metric), None)


def _optimized_value(cfg: DictConfig, trainer, best) -> float:
    if best is not None and best.best_model_score is not None:
        return float(best.best_model_score)
    value = trainer.callback_metrics.get(cfg.optimized_metric)
    return float(value) if value is not None else math.nan
