"""Sweeps through the real entry point: Optuna and grid multiruns with 2 parallel joblib jobs, against a real
`mlflow server` on 127.0.0.1 and against the default SQLite file; then compare on a finished sweep."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, write_sst2_layout
from mlflow.tracking import MlflowClient

from seqlab.reports.compare import compare

GRID = ["model=lstm,cnn", "seed=1,2", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]


def sweep(tmp_path: Path, args: list[str], tracking_uri: str | None) -> subprocess.CompletedProcess:
    write_sst2_layout(tmp_path / "data" / "sst2")
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "SEQLAB_DATA_MIRROR")}
    if tracking_uri:
        env["MLFLOW_TRACKING_URI"] = tracking_uri
    result = subprocess.run(
        [sys.executable, str(ROOT / "pipelines" / "train.py"), "--multirun", "debug=smoke", *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "database is locked" not in result.stderr
    return result


def sweep_runs(tracking_uri: str) -> tuple:
    """(parent, trials) of the only sweep in the store."""
    client = MlflowClient(tracking_uri)
    runs = [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]
    [parent] = [r for r in runs if r.data.tags.get("sweep") == "parent"]
    trials = [r for r in runs if r.data.tags.get("sweep") != "parent"]
    return parent, trials


def assert_nested_and_best_recorded(parent, trials, count: int) -> None:
    assert len(trials) == count
    assert {t.info.status for t in trials} == {"FINISHED"}
    assert {t.data.tags["mlflow.parentRunId"] for t in trials} == {parent.info.run_id}
    assert {t.data.tags["sweep_id"] for t in trials} == {parent.data.tags["sweep_id"]}
    best = max(trials, key=lambda t: t.data.metrics["objective"])
    assert parent.data.metrics["sweep/best_value"] == pytest.approx(best.data.metrics["objective"])
    assert parent.data.tags["best_run_id"] == best.info.run_id
    assert parent.info.status == "FINISHED"


def test_optuna_sweep_with_parallel_trials_against_a_server(tmp_path, mlflow_server):
    args = ["hparams_search=sentiment_lstm_optuna", "hydra.sweeper.n_trials=3", "hydra.sweeper.n_jobs=2",
            "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
    sweep(tmp_path, args, mlflow_server)
    parent, trials = sweep_runs(mlflow_server)
    assert_nested_and_best_recorded(parent, trials, 3)
    assert parent.data.params["sweep.sweeper"] == "OptunaSweeper"
    assert not (tmp_path / "outputs" / "mlflow.db").exists()  # everything went to the server


def test_grid_sweep_on_the_default_sqlite_store_loses_no_run(tmp_path):
    sweep(tmp_path, GRID, None)
    store = f"sqlite:///{tmp_path}/outputs/mlflow.db"
    parent, trials = sweep_runs(store)
    assert_nested_and_best_recorded(parent, trials, 4)
    assert sorted(t.data.tags["overrides"] for t in trials) == sorted(
        f"debug=smoke model={m} seed={s}" for m in ("lstm", "cnn") for s in (1, 2)
    )

    result = compare(store, "sst2-classification", tmp_path / "reports", sweep=parent.data.tags["sweep_id"])
    best = max(trials, key=lambda t: t.data.metrics["objective"])
    assert result["best_run_id"] == best.info.run_id
    assert result["metric"] == "val/acc"
    report = result["report"].read_text()
    assert best.info.run_id in report and "★" in report
    assert all(p.exists() and p.stat().st_size > 0 for p in result["plots"])
    assert any("model" in p.name for p in result["plots"][2:])  # the metric against the swept model choice


def test_a_failing_trial_is_failed_and_the_sweep_goes_on(tmp_path):
    sweep(tmp_path, ["model.net.pooling=max,median"], None)
    parent, trials = sweep_runs(f"sqlite:///{tmp_path}/outputs/mlflow.db")
    statuses = {t.data.tags["overrides"].split("pooling=")[1].split()[0]: t.info.status for t in trials}
    assert statuses == {"max": "FINISHED", "median": "FAILED"}
    assert parent.data.metrics["sweep/failed"] == 1
