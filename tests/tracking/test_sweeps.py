"""Sweeps through the real entry point: an Optuna multirun against a real `mlflow server` on 127.0.0.1 and a grid
against that server and against the default SQLite file, each with 2 parallel joblib jobs; compare on each finished
grid; a failing trial; a sweep that fails before its end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from seqlab.reports.compare import compare
from seqlab.tracking.run_lookup import parse_overrides

from conftest import ROOT, write_sst2_layout

GRID = ["model=lstm,cnn", "seed=1,2", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]


def sweep(tmp_path: Path, args: list[str], tracking_uri: str | None, ok: bool = True) -> subprocess.CompletedProcess:
    write_sst2_layout(tmp_path / "data" / "sst2")
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "SEQLAB_DATA_MIRROR")}
    if tracking_uri:
        env["MLFLOW_TRACKING_URI"] = tracking_uri
    result = subprocess.run(
        [sys.executable, str(ROOT / "pipelines" / "train.py"), "--multirun", "debug=smoke", *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )
    assert (result.returncode == 0) == ok, result.stderr[-4000:]
    assert "database is locked" not in result.stderr
    return result


def sweep_runs(tracking_uri: str, under: Path) -> tuple:
    """(parent, trials) of the only sweep run from the folder `under` (a server's store holds other tests' too)."""
    client = MlflowClient(tracking_uri)
    runs = [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]
    runs = [r for r in runs if r.data.tags.get("run_dir", "").startswith(str(under))]
    [parent] = [r for r in runs if r.data.tags.get("sweep") == "parent"]
    trials = [r for r in runs if r.data.tags.get("sweep") != "parent"]
    return parent, trials


def assert_nested_and_best_recorded(parent, trials, count: int, swept: list[str]) -> None:
    assert len(trials) == count
    assert {t.info.status for t in trials} == {"FINISHED"}
    assert {t.data.tags["mlflow.parentRunId"] for t in trials} == {parent.info.run_id}
    assert {t.data.tags["sweep_id"] for t in trials} == {parent.data.tags["sweep_id"]}
    objective = {t.info.run_id: t.data.metrics["objective"] for t in trials}
    # else any trial would pass for the best (test_sweep_units.py pins the choice, max and min, on distinct values)
    assert len(set(objective.values())) > 1
    [best] = [t for t in trials if t.info.run_id == parent.data.tags["best_run_id"]]
    assert objective[best.info.run_id] == max(objective.values())
    assert parent.data.metrics["sweep/best_value"] == pytest.approx(max(objective.values()))
    overrides = parse_overrides(best.data.tags["overrides"])
    assert {k: parent.data.params[f"best.{k}"] for k in swept} == {k: overrides[k] for k in swept}
    assert parent.info.status == "FINISHED"


def test_optuna_sweep_with_parallel_trials_against_a_server(tmp_path, mlflow_server):
    args = ["hparams_search=sentiment_lstm_optuna", "hydra.sweeper.n_trials=3", "hydra.sweeper.n_jobs=2",
            "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
    sweep(tmp_path, args, mlflow_server)
    parent, trials = sweep_runs(mlflow_server, tmp_path)
    swept = ["model.net.hidden_size", "model.net.embed_dim", "model.net.dropout", "model.net.pooling",
             "model.optimizer.lr"]  # the preset's search space
    assert_nested_and_best_recorded(parent, trials, 3, swept)
    assert parent.data.params["sweep.sweeper"] == "OptunaSweeper"
    assert not (tmp_path / "outputs" / "mlflow.db").exists()  # everything went to the server


@pytest.mark.parametrize("store", ["sqlite", "server"])
def test_grid_sweep_with_parallel_trials_loses_no_run(tmp_path, request, store):
    """On the default SQLite file (no "database is locked") and on a real server; then compare on the sweep."""
    server = request.getfixturevalue("mlflow_server") if store == "server" else None
    sweep(tmp_path, GRID, server)
    uri = server or f"sqlite:///{tmp_path}/outputs/mlflow.db"
    parent, trials = sweep_runs(uri, tmp_path)
    assert_nested_and_best_recorded(parent, trials, 4, ["model", "seed"])
    assert sorted(t.data.tags["overrides"] for t in trials) == sorted(
        f"debug=smoke model={m} seed={s}" for m in ("lstm", "cnn") for s in (1, 2)
    )

    sweep_id = parent.data.tags["sweep_id"]
    result = compare(uri, "sst2-classification", tmp_path / "reports", sweep=sweep_id)
    objective = {t.info.run_id: t.data.metrics["objective"] for t in trials}
    assert objective[result["best_run_id"]] == max(objective.values())  # trials may tie: any of the best will do
    assert result["metric"] == "val/acc"
    report = result["report"].read_text()
    assert result["best_run_id"] in report and "★" in report
    slug = f"sst2-classification-{sweep_id}"
    # the spread per model, the curves, and the metric against each swept key: nothing else
    expected = [f"compare-{slug}-{x}.png" for x in ("models", "curves", "model", "seed")]
    assert [p.name for p in result["plots"]] == expected
    assert all(p.stat().st_size > 0 for p in result["plots"])


def test_a_failing_trial_is_failed_and_the_sweep_goes_on(tmp_path):
    sweep(tmp_path, ["model.net.pooling=max,median"], None)
    parent, trials = sweep_runs(f"sqlite:///{tmp_path}/outputs/mlflow.db", tmp_path)
    statuses = {t.data.tags["overrides"].split("pooling=")[1].split()[0]: t.info.status for t in trials}
    assert statuses == {"max": "FINISHED", "median": "FAILED"}
    assert parent.data.metrics["sweep/failed"] == 1


ONE_FAILING_OPTUNA = """# @package _global_
defaults:
  - override /hydra/sweeper: optuna
  - override /hydra/sweeper/sampler: random
hydra:
  mode: MULTIRUN
  sweeper:
    direction: maximize
    storage: null
    n_trials: 4
    n_jobs: 1
    sampler:
      seed: 7
    params:
      model.net.pooling: choice(max, median)
"""


def test_a_failing_trial_of_an_optuna_sweep_is_a_failed_trial_and_the_sweep_goes_on(tmp_path):
    """Optuna refuses a NaN objective (and then its own FAIL report), which ended the whole sweep: a failed trial
    returns no value instead. With seed 7 the sampler draws median (not a pooling) twice, then max twice."""
    extra = tmp_path / "extra" / "hparams_search"
    extra.mkdir(parents=True)
    (extra / "one_failing_optuna.yaml").write_text(ONE_FAILING_OPTUNA)
    sweep(tmp_path, ["hparams_search=one_failing_optuna", f"hydra.searchpath=[file://{extra.parent}]"], None)
    parent, trials = sweep_runs(f"sqlite:///{tmp_path}/outputs/mlflow.db", tmp_path)
    statuses = sorted((parse_overrides(t.data.tags["overrides"])["model.net.pooling"], t.info.status) for t in trials)
    assert statuses == [("max", "FINISHED"), ("max", "FINISHED"), ("median", "FAILED"), ("median", "FAILED")]
    assert parent.info.status == "FINISHED" and parent.data.metrics["sweep/failed"] == 2
    assert parent.data.params["best.model.net.pooling"] == "max"


def test_a_sweep_that_fails_before_its_end_leaves_no_parent_running(tmp_path):
    """The launcher refuses n_jobs=0 once the parent run is open: Hydra never calls on_multirun_end."""
    sweep(tmp_path, ["seed=1,2", "hydra/launcher=joblib", "hydra.launcher.n_jobs=0"], None, ok=False)
    parent, trials = sweep_runs(f"sqlite:///{tmp_path}/outputs/mlflow.db", tmp_path)
    assert parent.info.status == "FAILED" and trials == []


def test_a_sweep_whose_server_does_not_answer_says_so_in_one_line(tmp_path):
    result = sweep(tmp_path, ["seed=1,2"], "http://127.0.0.1:9", ok=False)
    assert "error: cannot reach the MLflow tracking store http://127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr and result.returncode == 1
