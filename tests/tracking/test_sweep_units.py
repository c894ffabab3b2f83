"""Sweeps and compare on runs written straight into an MLflow store: ranking, the best run in max and min mode, swept
keys, plots, the sweep parent's summary and its end when the sweep fails, the overrides tag, the Ray launcher's
environment and the sweep benchmark's arithmetic."""

from __future__ import annotations

import collections
import os
import shlex
import subprocess
import sys

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf

import seqlab.reports.plots as plots
from seqlab.benchmarks.sweeps import summarize
from seqlab.reports.compare import compare
from seqlab.tracking.mlflow_tracker import MlflowTracker
from seqlab.tracking.run_lookup import parse_overrides
from seqlab.tracking.sweep import PARENT_RUN_ENV, SWEEP_ID_ENV, SweepRunCallback

from conftest import CONF

EXPERIMENT = "sweep_units-classification"
SWEEP = "sweep_units-0001"
NOTE = "+extra.note=two words"  # a quoted override: str.split would cut it in two
# (name, model, seed, status, objective): names repeat; a FAILED and a KILLED run score better than any FINISHED one
RUNS = [
    ("lstm seed", "lstm", 1, "FINISHED", 0.70),
    ("lstm seed", "lstm", 2, "FINISHED", 0.60),
    ("cnn", "cnn", 1, "FINISHED", 0.80),
    ("cnn", "cnn", 2, "FAILED", 0.95),
    ("rnn", "rnn", 1, "KILLED", 0.99),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[str, dict]:
    """A SQLite store holding one sweep's trials as RUNS describes them: (uri, {(model, seed): run_id})."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('sweep_units') / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment(EXPERIMENT)
    ids = {}
    for name, model, seed, status, objective in RUNS:
        overrides = shlex.join(["debug=smoke", f"model={model}", f"seed={seed}", NOTE])
        run = client.create_run(experiment, run_name=name,
                                tags={"sweep_id": SWEEP, "model": model, "overrides": overrides})
        run_id = run.info.run_id
        for key, value in {"optimized_metric": "val/acc", "optimized_mode": "max", "trainer.max_epochs": "2",
                           "model._target_": f"nets.{model}"}.items():
            client.log_param(run_id, key, value)
        for step, value in enumerate((objective - 0.1, objective)):
            client.log_metric(run_id, "val/acc", value, step=step)
        client.log_metric(run_id, "objective", objective)
        client.set_terminated(run_id, status)
        ids[(model, seed)] = run_id
    return uri, ids


def test_overrides_tag_reads_back_quoted_values():
    tag = shlex.join(["model=cnn", "seed=2", NOTE, "dataset.path=/a b/c=d"])
    assert parse_overrides(tag) == {"model": "cnn", "seed": "2", "extra.note": "two words", "dataset.path": "/a b/c=d"}


@pytest.mark.parametrize("mode, best", [("max", ("cnn", 1)), ("min", ("lstm", 2))])
def test_compare_ranks_finished_runs_first_and_never_marks_a_failed_run_best(store, tmp_path, mode, best):
    uri, ids = store
    result = compare(uri, EXPERIMENT, tmp_path, sweep=SWEEP, mode=mode)
    assert result["best_run_id"] == ids[best]
    finished = sorted((o for *_, s, o in RUNS if s == "FINISHED"), reverse=mode == "max")
    assert result["best_score"] == pytest.approx(finished[0])
    by_id = {ids[(m, s)]: status for _, m, s, status, _ in RUNS}
    statuses = [by_id[run_id] for run_id in result["ranked"]]
    assert statuses == ["FINISHED"] * 3 + statuses[3:] and set(statuses[3:]) == {"FAILED", "KILLED"}


def test_compare_lists_swept_keys_first_and_plots_only_them(store, tmp_path, monkeypatch):
    uri, ids = store
    seen = {}

    def spy(name):
        real = getattr(plots, name)

        def record(data, *args):
            seen[name] = data
            return real(data, *args)

        monkeypatch.setattr(plots, name, record)

    spy("spread_png")
    spy("curves_png")
    result = compare(uri, EXPERIMENT, tmp_path, sweep=SWEEP, top=2)
    slug = f"{EXPERIMENT}-{SWEEP}"
    expected = [f"compare-{slug}-{x}.png" for x in ("models", "curves", "model", "seed")]
    assert [p.name for p in result["plots"]] == expected
    assert all(p.stat().st_size > 0 for p in result["plots"])
    report = result["report"].read_text()
    assert "| | run | status | val/acc | model | seed | model._target_ | seconds |" in report
    # the spread uses every FINISHED run, not the top 2 rows of the table
    assert {m: sorted(v) for m, v in seen["spread_png"]["val/acc"].items()} == {"lstm": [0.60, 0.70], "cnn": [0.80]}
    assert "test/acc" not in seen["spread_png"]  # no run logged it: no panel
    assert "over the 3 FINISHED runs: mean 0.7000, sd 0.1000" in report
    # runs that share a name keep a curve each
    assert len(seen["curves_png"]) == len(RUNS)
    assert {label.split()[0] for label in seen["curves_png"]} == {run_id[:8] for run_id in ids.values()}


@pytest.mark.parametrize("mode, best", [("max", ("cnn", 1)), ("min", ("lstm", 2))])
def test_sweep_parent_records_the_best_finished_trial(store, tmp_path, monkeypatch, mode, best):
    uri, ids = store
    monkeypatch.setenv(SWEEP_ID_ENV, SWEEP)
    callback = SweepRunCallback()
    callback.tracker = MlflowTracker(uri)
    callback.tracker.start(EXPERIMENT, f"sweep {mode}", {}, {"sweep_id": SWEEP, "sweep": "parent"}, str(tmp_path))
    parent_id = callback.tracker.run_id
    callback.on_multirun_end(OmegaConf.create({"optimized_mode": mode}))
    parent = MlflowClient(uri).get_run(parent_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["best_run_id"] == ids[best]
    assert parent.data.metrics["sweep/best_value"] == pytest.approx(dict(((m, s), o) for _, m, s, _, o in RUNS)[best])
    assert parent.data.metrics["sweep/failed"] == 1 and parent.data.metrics["sweep/finished"] == 3
    assert parent.data.params["best.model"] == best[0] and parent.data.params["best.seed"] == str(best[1])
    assert parent.data.params["best.extra.note"] == "two words"


def test_an_open_sweep_parent_ends_failed_at_exit(store, tmp_path, monkeypatch):
    uri, _ = store
    callback = SweepRunCallback()
    callback.tracker = MlflowTracker(uri)
    callback.tracker.start(EXPERIMENT, "sweep cut short", {}, {"sweep_id": "cut-short", "sweep": "parent"},
                           str(tmp_path))
    run_id = callback.tracker.run_id
    callback.fail_if_open(pid=-1)  # registered by another process (a forked child exits): not this one's to end
    assert MlflowClient(uri).get_run(run_id).info.status == "RUNNING"
    callback.fail_if_open(pid=os.getpid())
    ended = MlflowClient(uri).get_run(run_id).info
    assert ended.status == "FAILED" and callback.tracker is None
    callback.fail_if_open(pid=os.getpid())  # once only: the run is not ended again
    assert MlflowClient(uri).get_run(run_id).info.end_time == ended.end_time


def compose_with_ray(overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", ["hydra/launcher=ray", *overrides], return_hydra_config=True)
    GlobalHydra.instance().clear()
    return cfg


def test_ray_workers_get_the_sweep_and_tracking_environment(monkeypatch):
    monkeypatch.setenv(SWEEP_ID_ENV, "sst2-1234")
    monkeypatch.setenv(PARENT_RUN_ENV, "abcd")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    monkeypatch.setenv("SEQLAB_DATA_MIRROR", "/shared/data")
    # an OrderedDict stands in for ray.runtime_env.RuntimeEnv (both dicts): this runs where Ray is not installed
    cfg = compose_with_ray(["hydra.launcher.ray.init.runtime_env._target_=collections.OrderedDict"])
    init = instantiate(cfg.hydra.launcher.ray).init  # what the launcher hands to ray.init(**init)
    runtime_env = dict(**init)["runtime_env"]
    assert isinstance(runtime_env, collections.OrderedDict)  # a real dict, not a config node, as Ray requires
    assert runtime_env["env_vars"] == {SWEEP_ID_ENV: "sst2-1234", PARENT_RUN_ENV: "abcd",
                                       "MLFLOW_TRACKING_URI": "http://127.0.0.1:5000",
                                       "SEQLAB_DATA_MIRROR": "/shared/data"}
    assert all(type(v) is str for v in runtime_env["env_vars"].values())


def test_ray_environment_defaults_are_strings(monkeypatch):
    monkeypatch.delenv(SWEEP_ID_ENV, raising=False)
    monkeypatch.delenv(PARENT_RUN_ENV, raising=False)
    cfg = compose_with_ray(["logger=csv"])
    env_vars = OmegaConf.to_container(cfg.hydra.launcher.ray.init.runtime_env.env_vars, resolve=True)
    assert env_vars == {SWEEP_ID_ENV: "", PARENT_RUN_ENV: "", "MLFLOW_TRACKING_URI": "", "SEQLAB_DATA_MIRROR": ""}


def test_sweep_benchmark_overhead_comes_from_the_one_at_a_time_run():
    summary = summarize({"basic": {"trials": 4, "wall_seconds": 100.0, "train_seconds": 60.0},
                         "joblib_2": {"trials": 4, "wall_seconds": 62.5, "train_seconds": 110.0}})
    assert summary["overhead_seconds_per_trial"] == 10.0
    assert summary["speedup_joblib_2_over_basic"] == 1.6
    assert summary["launchers"]["joblib_2"] == {"trials": 4, "wall_seconds": 62.5, "seconds_per_trial": 15.62,
                                                "train_seconds_per_trial": 27.5}


def test_compare_with_a_bad_option_fails_before_the_heavy_imports():
    script = CONF.parent / "pipelines" / "compare.py"
    done = subprocess.run([sys.executable, "-X", "importtime", str(script), "bogus=1"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "bogus" in errors[0] and "experiment" in errors[0]
    timed = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    imported = {line.split("|")[-1].strip().split(".")[0] for line in timed}
    assert "seqlab" in imported and not imported & {"matplotlib", "rich", "mlflow", "torch"}


def test_a_metric_other_than_the_optimized_one_is_ranked_in_its_own_direction():
    from seqlab.reports.compare import default_mode

    runs = [{"params": {"optimized_metric": "val/acc", "optimized_mode": "max"}}]
    assert default_mode("val/acc", runs) == "max"
    assert [default_mode(m, runs) for m in ("val/loss", "test/ppl", "val/bpc", "train/epoch_sec")] == ["min"] * 4
    assert [default_mode(m, runs) for m in ("val/f1", "test/bleu", "train/tokens_per_sec")] == ["max"] * 3
    assert default_mode("val/loss", [{"params": {"optimized_metric": "val/loss", "optimized_mode": "max"}}]) == "max"


@pytest.mark.parametrize("uri, message", [
    ("sqlite:///{tmp}/typo/mlflow.db", r"error: no MLflow store at sqlite:///.*/typo/mlflow.db \(no such file\)"),
    ("http://127.0.0.1:9", r"error: cannot read the MLflow store http://127.0.0.1:9: API request to"),
])
def test_compare_on_a_store_that_is_not_there_says_so_in_one_line(tmp_path, uri, message):
    import re

    script = CONF.parent / "pipelines" / "compare.py"
    done = subprocess.run([sys.executable, str(script), f"tracking_uri={uri.format(tmp=tmp_path)}"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and re.search(message, done.stderr), done.stderr[-2000:]
    assert "Traceback" not in done.stderr and not (tmp_path / "typo").exists()  # no empty store made


def test_the_sweep_benchmark_refuses_a_sweep_whose_trials_failed(tmp_path, monkeypatch):
    """train.py --multirun exits 0 when trials fail (the sweep goes on): their runs say so, not the exit status."""
    from seqlab.benchmarks import sweeps
    from seqlab.errors import SeqlabError

    monkeypatch.setattr(sweeps.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(
        a, 0, "", "error: data dir data/sst2 does not exist; set dataset.data_dir\n"))
    monkeypatch.setattr("seqlab.tracking.run_lookup.sweep_ids_since", lambda uri, since: ["s"])
    monkeypatch.setattr("seqlab.tracking.run_lookup.sweep_trials",
                        lambda uri, sweep: [{"run_id": str(i), "status": "FAILED"} for i in range(4)])
    with pytest.raises(SeqlabError, match=r"did not finish its 4 trials \(0 finished, exit status 0\); a trial said: "
                                          r"error: data dir data/sst2 does not exist"):
        sweeps.run(tmp_path, None)


def test_make_bench_runs_the_other_suites_when_one_fails_and_exits_non_zero(tmp_path, monkeypatch, capsys):
    import importlib.util
    import types

    from seqlab.benchmarks import command
    from seqlab.errors import SeqlabError
    from seqlab.tracking import bench_runs

    def failing(root, minutes, quick):
        raise SeqlabError("spaCy pipeline 'en_core_web_sm' is not installed")

    ran, logged = [], []
    for name, run in (("fake_fails", failing),
                      ("fake_works", lambda root, minutes, quick: ran.append(minutes) or "w.json")):
        monkeypatch.setitem(sys.modules, f"bench_{name}", types.SimpleNamespace(run=run))
    spec = importlib.util.spec_from_file_location("bench_entry", CONF.parent / "pipelines" / "benchmark.py")
    entry = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(entry)
    suites = {"fails": "bench_fake_fails", "works": "bench_fake_works"}
    monkeypatch.setattr(entry, "SUITES", suites)
    monkeypatch.setattr(command, "SUITES", suites)
    monkeypatch.setattr(bench_runs, "log_bench_report", lambda root, report: logged.append(report) or "r1")
    monkeypatch.chdir(tmp_path)  # the summary goes to <cwd>/outputs/bench
    monkeypatch.setattr(sys, "argv", ["benchmark.py", "fails", "works", "--minutes", "2"])
    with pytest.raises(SystemExit, match=r"suite\(s\) fails failed"):
        entry.main()
    assert ran == [2.0] and logged == ["w.json"]  # the suite that worked is logged, the failed one is not
    captured = capsys.readouterr()
    assert "error: fails: spaCy pipeline 'en_core_web_sm' is not installed" in captured.err
    assert "works: w.json" in captured.out
