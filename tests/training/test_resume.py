"""A run killed mid-training (SIGKILL, SIGINT) resumes with `resume=<run_id>` into the same MLflow run: every
metric's history goes on with no gap and no duplicate, and the final metrics equal an uninterrupted run's.

The kill lands in the second epoch, once the first epoch's figures are in MLflow, so that the resumed run has
histories to continue, and the epoch it resumes is one that started before the kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from mlflow.tracking import MlflowClient

from killed_runs import run_of, start, wait_for_checkpoint
from seqlab.tracking.orphaned_runs import ENDED_BY_TAG

from conftest import ROOT, write_sst2_layout

STEPS_PER_EPOCH = 38  # 304 training rows (320 less the 5% carved as test) in batches of 8
TIMING = {"train/epoch_sec", "train/tokens_per_sec", "train/examples_per_sec"}  # wall-clock figures: their steps
# compare, not their values


def finish(process: subprocess.Popen) -> str:
    out, _ = process.communicate(timeout=300)
    assert process.returncode == 0, out[-3000:]
    return out


def histories(uri: str, run_id: str) -> dict[str, list[tuple[int, float]]]:
    """Every metric of the run: [(step, value)] in the order they were logged."""
    client = MlflowClient(uri)
    keys = client.get_run(run_id).data.metrics
    return {k: [(m.step, m.value) for m in sorted(client.get_metric_history(run_id, k), key=lambda m: m.timestamp)]
            for k in keys}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, tracking_uri):
    folder = tmp_path_factory.mktemp("whole")
    write_sst2_layout(folder / "data" / "sst2", n_train=320, n_dev=30)
    finish(start(folder, tracking_uri))
    return histories(tracking_uri, run_of(tracking_uri, folder).info.run_id)


@pytest.mark.parametrize("kill", ["SIGKILL", "SIGINT"])
def test_a_killed_run_resumes_into_the_same_history(kill, tmp_path, tmp_path_factory, tracking_uri, uninterrupted):
    write_sst2_layout(tmp_path / "data" / "sst2", n_train=320, n_dev=30)
    process = start(tmp_path, tracking_uri)
    wait_for_checkpoint(tmp_path, process, min_step=STEPS_PER_EPOCH + 2)  # early in the second epoch
    process.send_signal(getattr(signal, kill))
    process.communicate(timeout=120)
    assert process.returncode != 0
    run = run_of(tracking_uri, tmp_path)
    assert run.info.status == ("RUNNING" if kill == "SIGKILL" else "KILLED")  # SIGKILL leaves no chance to say
    before = histories(tracking_uri, run.info.run_id)
    assert [s for s, _ in before["val/acc"]] == [STEPS_PER_EPOCH - 1] and "test/acc" not in before
    if kill == "SIGINT":
        assert list(tmp_path.glob("outputs/runs/*/*/checkpoints/interrupted.ckpt"))

    if kill == "SIGKILL":
        # the next run on the store (any run) finds the process gone and ends the run KILLED
        finish(start(tmp_path_factory.mktemp("other"), tracking_uri, "dataset=toy"))
        ended = MlflowClient(tracking_uri).get_run(run.info.run_id)
        assert ended.info.status == "KILLED" and ENDED_BY_TAG in ended.data.tags
        # then it resumes like any killed run: its own overrides again, plus resume=<run_id>
        out = finish(start(tmp_path, tracking_uri, f"resume={run.info.run_id}"))
    else:  # make resume RUN=<run_id> finds the overrides in the run
        env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri}
        command = ["make", "-s", "-f", str(ROOT / "Makefile"), "resume", f"PY={sys.executable}",
                   f"RUN={run.info.run_id}", "ARGS="]  # ARGS: not the outer make's
        out = finish(subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True))
    assert run.info.run_id in out
    finished = MlflowClient(tracking_uri).get_run(run.info.run_id)
    assert finished.info.status == "FINISHED"
    assert f"resume={run.info.run_id}" in finished.data.tags["resumed_with"]  # the overrides it went on with
    resumed = histories(tracking_uri, run.info.run_id)
    assert set(resumed) == set(uninterrupted) and {"lr-AdamW", "train/loss", "val/acc"} <= set(resumed)
    for key in sorted(resumed):
        steps = [s for s, _ in resumed[key]]
        if key != "epoch":  # Lightning logs `epoch` beside each set of metrics: at an epoch's end twice
            assert steps == sorted(set(steps)), (key, steps)  # strictly increasing: no duplicate
        assert steps == [s for s, _ in uninterrupted[key]], (key, steps, uninterrupted[key])  # none missing or extra
        if key not in TIMING:
            assert [v for _, v in resumed[key]] == pytest.approx([v for _, v in uninterrupted[key]], abs=1e-6), key
    # the timings differ, but the resumed epoch counts the tokens and examples of all its batches, as the
    # uninterrupted one
    for speed in ("train/tokens_per_sec", "train/examples_per_sec"):
        assert counted_per_epoch(resumed, speed) == pytest.approx(counted_per_epoch(uninterrupted, speed), rel=1e-6)


def counted_per_epoch(history: dict[str, list[tuple[int, float]]], speed: str) -> list[float]:
    seconds, speeds = history["train/epoch_sec"], history[speed]
    return [s * v for (_, s), (_, v) in zip(seconds, speeds, strict=True)]


def test_resume_needs_a_known_run(tmp_path, tracking_uri):
    write_sst2_layout(tmp_path / "data" / "sst2", n_train=60, n_dev=20)
    process = start(tmp_path, tracking_uri, "resume=0123456789abcdef")
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 1
    assert "error: no MLflow run '0123456789abcdef'" in out and "to resume" in out


def test_the_resume_command_starts_without_lightning_or_torch():
    """`make resume` reads the run's tags and hands over to train.py: importing it must cost no heavy start-up."""
    code = ("import sys, seqlab.commands.resume; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'lightning', 'torch'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("status, process, checkpoint, message", [
    ("FINISHED", None, True, r"is FINISHED: nothing is left to resume"),
    ("RUNNING", "this process", True, r"is still being trained, by process \d+ on this machine; stop it"),
    ("KILLED", None, False, r"the run has no checkpoint in .*checkpoints to resume from; train it again"),
])
def test_a_run_that_cannot_go_on_is_refused_and_keeps_its_status(tmp_path, tracking_uri, status, process,
                                                                   checkpoint, message):
    from seqlab.errors import SeqlabError
    from seqlab.tracking.mlflow_tracker import MlflowTracker
    from seqlab.tracking.orphaned_runs import PROCESS_TAG, process_identity
    from seqlab.training.resumption import resume_run

    run_dir = tmp_path / "run"
    (run_dir / "checkpoints").mkdir(parents=True)
    if checkpoint:
        (run_dir / "checkpoints" / "last.ckpt").write_bytes(b"weights")
    client = MlflowClient(tracking_uri)
    tags = {"task": "classification", "run_dir": str(run_dir)}
    if process:
        tags[PROCESS_TAG] = process_identity()
    run = client.create_run(client.get_experiment_by_name("Default").experiment_id, tags=tags)
    if status != "RUNNING":
        client.set_terminated(run.info.run_id, status)
    with pytest.raises(SeqlabError, match=message):
        resume_run(MlflowTracker(tracking_uri), run.info.run_id)
    assert client.get_run(run.info.run_id).info.status == status
    if status == "RUNNING":
        client.set_terminated(run.info.run_id, "KILLED")  # leaves no RUNNING run in the session's store


def test_a_trial_of_an_optuna_sweep_resumes_as_one_run(tracking_uri, monkeypatch):
    """The trial's overrides name the Optuna preset, which sets MULTIRUN: resumed as is, it would start a sweep."""
    from seqlab.commands import resume

    client = MlflowClient(tracking_uri)
    run = client.create_run(client.get_experiment_by_name("Default").experiment_id, tags={
        "overrides": "hparams_search=sentiment_lstm_optuna model.net.hidden_size=128"})
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    handed = []
    monkeypatch.setattr(resume.os, "execv", lambda program, command: handed.append(command))
    resume.main([run.info.run_id])
    [command] = handed
    shown = subprocess.run([*command, "--cfg", "hydra"], capture_output=True, text=True, timeout=120, check=True)
    assert "\n  mode: RUN\n" in shown.stdout, shown.stdout[-2000:]  # hydra.mode, not MULTIRUN
    assert f"resume={run.info.run_id}" in command and "model.net.hidden_size=128" in command
    client.set_terminated(run.info.run_id, "KILLED")


def test_other_ddp_ranks_resume_in_the_run_folder_rank_zero_shares(compose_cfg, tmp_path, monkeypatch):
    """Ranks above 0 have no tracker to reopen the run with: they train in the folder SEQLAB_RUN_DIR names."""
    from lightning.pytorch.utilities import rank_zero_only

    import seqlab.commands.train as train_module
    from seqlab.tracking.tracker import NullTracker

    cfg = compose_cfg(["debug=smoke", "resume=0123456789abcdef"])
    cfg.paths.output_dir = str(tmp_path / "shared run")  # what ${oc.env:SEQLAB_RUN_DIR} gives a re-launched rank
    newest = tmp_path / "shared run" / "checkpoints" / "last.ckpt"
    newest.parent.mkdir(parents=True)
    newest.touch()
    monkeypatch.setattr(rank_zero_only, "rank", 1)
    seen = []
    monkeypatch.setattr(train_module, "_fit_and_test",
                        lambda cfg, tracker, run_dir, resume_from: seen.append((tracker, run_dir, resume_from)) or 0.5)
    assert train_module.train(cfg) == 0.5
    [(tracker, run_dir, resume_from)] = seen
    assert isinstance(tracker, NullTracker) and run_dir == tmp_path / "shared run" and resume_from == newest
