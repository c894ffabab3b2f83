"""A Hydra sweep as one MLflow parent run with every trial nested under it (tag sweep_id on all)."""

from __future__ import annotations

import atexit
import math
import os
import sys
import uuid

from hydra.experimental.callback import Callback
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from seqlab.config.checks import task_of
from seqlab.errors import SeqlabError
from seqlab.tracking.params import flatten_config
from seqlab.tracking.run_info import command_line, experiment_name, git_commit
from seqlab.tracking.run_lookup import sweep_trials

# Hydra builds SweepRunCallback at the start of every train.py run (conf/hydra/default.yaml): the registry,
# which pulls in pandas, is imported where used

SWEEP_ID_ENV = "SEQLAB_SWEEP_ID"
PARENT_RUN_ENV = "SEQLAB_SWEEP_PARENT_RUN_ID"
OBJECTIVE = "objective"  # metric each trial logs: the value it returned to the sweeper


def sweep_tags() -> dict[str, str]:
    """Tags that nest a trial's run under its sweep's parent run (empty outside a sweep)."""
    sweep_id, parent = os.environ.get(SWEEP_ID_ENV), os.environ.get(PARENT_RUN_ENV)
    if not sweep_id:
        return {}
    return {"sweep_id": sweep_id, **({"mlflow.parentRunId": parent} if parent else {})}


class SweepRunCallback(Callback):
    """Runs in the process that launches the sweep: it opens the parent run before the first trial, hands its
    id to the trials through the environment (joblib, submitit and ray workers inherit it), and at the end
    records the best trial's value, run id and params on the parent, and with register=<name> registers the
    best trial's model under that name (the trials themselves register nothing). When the sweeper itself
    fails, Hydra never calls on_multirun_end: an exit handler then ends the parent run as FAILED instead of
    leaving it RUNNING."""

    def __init__(self):
        self.tracker = None

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        sweep_id = f"{config.dataset.name}-{uuid.uuid4().hex[:8]}"
        os.environ[SWEEP_ID_ENV] = sweep_id
        # only an MLflow store holds a parent run (seqlab.tracking.mlflow_tracker.MlflowTracker, named here
        # rather than imported: a sweep with another logger never loads MLflow)
        if config.logger.get("_target_", "").rsplit(".", 1)[-1] != "MlflowTracker":
            return
        tracker = instantiate(config.logger)
        hydra = config.hydra
        definition = {
            "sweeper": hydra.sweeper.get("_target_", "grid").rsplit(".", 1)[-1],
            "launcher": hydra.launcher.get("_target_", "").rsplit(".", 1)[-1],
            "params": OmegaConf.to_container(hydra.sweeper.params) if hydra.sweeper.get("params") else {},
            "overrides": list(hydra.overrides.task),
            "optimized_metric": config.optimized_metric,
            "optimized_mode": config.optimized_mode,
        }
        for key in ("direction", "n_trials", "n_jobs"):
            if key in hydra.sweeper:
                definition[key] = hydra.sweeper[key]
        if "n_jobs" in hydra.launcher:
            definition["launcher_n_jobs"] = hydra.launcher.n_jobs
        tags = {"sweep_id": sweep_id, "sweep": "parent", "command": command_line()[:5000],
                "git_commit": git_commit(config.paths.root_dir)}
        try:
            tracker.start(
                experiment_name(config.dataset.name, task_of(config.dataset._target_)),
                f"sweep {sweep_id}",
                flatten_config({"sweep": definition}),
                tags,
                hydra.sweep.dir,
            )
        except SeqlabError as err:  # e.g. a tracking server that does not answer: one line, as a run says it
            print(f"error: {err}", file=sys.stderr)
            sys.exit(1)
        self.tracker = tracker
        os.environ[PARENT_RUN_ENV] = tracker.run_id
        atexit.register(self.fail_if_open, os.getpid())

    def fail_if_open(self, pid: int) -> None:
        """At exit, a parent run still open (the sweep did not reach its end) ends FAILED; only in the process
        that opened it, not in a forked child."""
        if self.tracker is not None and os.getpid() == pid:
            self.tracker.end("FAILED")
            self.tracker = None

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        if self.tracker is None:
            return
        trials = sweep_trials(self.tracker.tracking_uri, os.environ[SWEEP_ID_ENV])
        scored = [t for t in trials
                  if t["status"] == "FINISHED" and not math.isnan(t["metrics"].get(OBJECTIVE, math.nan))]
        failed = sum(t["status"] == "FAILED" for t in trials)
        summary = {"trials": len(trials), "finished": len(scored), "failed": failed}
        if scored:
            pick = max if config.optimized_mode == "max" else min
            best = pick(scored, key=lambda t: t["metrics"][OBJECTIVE])
            summary["best_value"] = best["metrics"][OBJECTIVE]
            self.tracker.set_tags({"best_run_id": best["run_id"],
                                   "best_overrides": best["tags"].get("overrides", "")})
            self.tracker.log_params({f"best.{k}": v for k, v in best["swept"].items()})
        self.tracker.log_metrics({f"sweep/{k}": v for k, v in summary.items()})
        self.tracker.end("FINISHED")
        tracking_uri, self.tracker = self.tracker.tracking_uri, None
        for name in (SWEEP_ID_ENV, PARENT_RUN_ENV):
            os.environ.pop(name, None)
        if config.get("register"):
            register_best(tracking_uri, best["run_id"] if scored else None, str(config.register))


def register_best(tracking_uri: str, run_id: str | None, name: str) -> None:
    """register=<name> on a sweep: its best trial's model, registered once the sweep is over."""
    from seqlab.tracking.registry import register_run_model

    try:
        if run_id is None:
            raise SeqlabError(f"register={name}: no trial of the sweep finished with a value, so none is "
                              "registered")
        register_run_model(tracking_uri, run_id, name)
    except SeqlabError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
