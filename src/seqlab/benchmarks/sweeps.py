"""Sweep overhead: seconds per trial beyond training, and the speed-up of 2 joblib jobs over 1.

    python pipelines/benchmark.py sweeps [--quick]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from seqlab.benchmarks.runner import output_dir, write_report
from seqlab.errors import SeqlabError
from seqlab.tracking import run_lookup

TRAIN_ROWS = 12000  # of SST-2, so that each trial trains for seconds, not milliseconds
QUICK_ROWS = 256  # --quick
GRID = ["--multirun", "debug=smoke", "model=lstm,cnn", "seed=1,2", "callbacks.rich_progress_bar=null"]
TRIALS = 4  # the grid's size
# basic: one trial at a time, in one process; joblib_2: two worker processes, each limited by joblib to
# cores // n_jobs threads
LAUNCHERS = {"basic": [], "joblib_2": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]}


def run(root: Path, minutes: float | None, quick: bool = False) -> Path:
    """Runs the GRID (one epoch a trial; `minutes` is not used) through pipelines/train.py with each of the
    LAUNCHERS, into outputs/bench/sweeps.db; each launcher's figures come from the one sweep it started (by
    its id), never an older sweep of that store."""
    grid = [*GRID, f"dataset.max_train_samples={QUICK_ROWS if quick else TRAIN_ROWS}"]
    store = output_dir(root, quick) / "sweeps.db"
    store.parent.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{store}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    results = {}
    for name, launcher in LAUNCHERS.items():
        started, start = time.time(), time.perf_counter()
        done = subprocess.run([sys.executable, str(root / "pipelines" / "train.py"), *grid, *launcher],
                              cwd=root, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        trials = []
        if done.returncode == 0:
            trials = run_lookup.sweep_trials(uri, this_sweep(run_lookup.sweep_ids_since(uri, started), name))
        failed = [t for t in trials if t["status"] != "FINISHED"]
        if done.returncode != 0 or len(trials) != TRIALS or failed:
            said = [line for line in done.stderr.splitlines() if line.startswith("error:")]
            raise SeqlabError(f"the sweep with the {name} launcher did not finish its {TRIALS} trials "
                              f"({len(trials) - len(failed)} finished, exit status {done.returncode}); a "
                              f"trial said: {(said or done.stderr.strip().splitlines() or ['nothing'])[-1]}")
        train = [sum(_history(uri, t["run_id"], "train/epoch_sec")) for t in trials]
        results[name] = {"trials": len(trials), "wall_seconds": wall, "train_seconds": sum(train)}
    return write_report(root, "sweeps", {"grid": grid, "tracking_uri": uri, **summarize(results)}, quick)


def this_sweep(started: list[str], launcher: str) -> str:
    """The id of the one sweep started while the launcher ran (the store may hold older sweeps, never to be
    read as this one)."""
    if len(started) != 1:
        ids = ", ".join(started) or "none"
        raise SeqlabError(f"the sweep with the {launcher} launcher should have started one sweep in the "
                          f"store, and {len(started)} started meanwhile ({ids}); let no other sweep log to "
                          "outputs/bench/sweeps.db while the benchmark runs")
    return started[0]


def summarize(results: dict[str, dict]) -> dict:
    """Per launcher: wall and training seconds per trial; overhead per trial (wall time less training time)
    from the one-at-a-time run only, as with 2 trials at once training times overlap and no longer add up to
    a share of the wall time; the speed-up of 2 jobs over 1 as a ratio of wall times."""
    launchers = {
        name: {
            "trials": r["trials"],
            "wall_seconds": round(r["wall_seconds"], 1),
            "seconds_per_trial": round(r["wall_seconds"] / r["trials"], 2),
            "train_seconds_per_trial": round(r["train_seconds"] / r["trials"], 2),
        }
        for name, r in results.items()
    }
    one = results["basic"]
    return {
        "launchers": launchers,
        "overhead_seconds_per_trial": round((one["wall_seconds"] - one["train_seconds"]) / one["trials"], 2),
        "speedup_joblib_2_over_basic": round(one["wall_seconds"] / results["joblib_2"]["wall_seconds"], 2),
    }


def _history(uri: str, run_id: str, key: str) -> list[float]:
    return [value for _, value in run_lookup.metric_history(uri, run_id, key)]
