"""Sweep overhead: seconds per trial beyond training, and the speed-up of 2 joblib jobs over 1.

    python pipelines/benchmark.py sweeps
Runs the same 4-trial grid (model=lstm,cnn seed=1,2 on debug=smoke SST-2 slices) through pipelines/train.py
with the basic launcher and with joblib n_jobs=2, into outputs/bench/sweeps.db.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from seqlab.benchmarks.runner import write_report

GRID = ["--multirun", "debug=smoke", "model=lstm,cnn", "seed=1,2", "callbacks.rich_progress_bar=null"]
LAUNCHERS = {"basic": [], "joblib_2": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]}


def run(root: Path, minutes: float | None) -> Path:
    from seqlab.tracking.run_lookup import sweep_trials

    store = root / "outputs" / "bench" / "sweeps.db"
    store.parent.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{store}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    results = {}
    for name, launcher in LAUNCHERS.items():
        start = time.perf_counter()
        done = subprocess.run([sys.executable, str(root / "pipelines" / "train.py"), *GRID, *launcher],
                              cwd=root, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"sweep with {name} failed:\n{done.stderr[-3000:]}")
        sweep_id = _latest_sweep_id(uri)
        trials = sweep_trials(uri, sweep_id)
        train = [sum(_history(uri, t["run_id"], "train/epoch_sec")) for t in trials]
        results[name] = {
            "trials": len(trials),
            "wall_seconds": round(wall, 1),
            "seconds_per_trial": round(wall / len(trials), 2),
            "train_seconds_per_trial": round(sum(train) / len(train), 2),
            "overhead_seconds_per_trial": round((wall - sum(train)) / len(trials), 2),
        }
    results["speedup_joblib_2_over_basic"] = round(
        results["basic"]["wall_seconds"] / results["joblib_2"]["wall_seconds"], 2
    )
    return write_report(root, "sweeps", {"grid": GRID, "tracking_uri": uri, "launchers": results})


def _history(uri: str, run_id: str, key: str) -> list[float]:
    from seqlab.tracking.run_lookup import metric_history

    return [value for _, value in metric_history(uri, run_id, key)]


def _latest_sweep_id(uri: str) -> str:
    """The newest sweep parent in the store: the one this run just made."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    [parent] = client.search_runs(experiments, "tags.sweep = 'parent'", order_by=["start_time DESC"], max_results=1)
    return parent.data.tags["sweep_id"]
