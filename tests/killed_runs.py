"""Runs killed and resumed, for the resume tests of every task: start `pipelines/train.py` in a process of its
own, wait for its periodic checkpoint, kill it, resume it, and compare with a run never stopped."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch
from mlflow.tracking import MlflowClient

from seqlab.commands.train import train

from conftest import ROOT

ARGS = ["debug=smoke", "dataset.max_train_samples=null", "dataset.batch_size=8", "trainer.max_epochs=2",
        "callbacks.early_stopping=null", "callbacks.periodic_checkpoint.every_n_train_steps=10",
        "model.net.embed_dim=16", "model.net.hidden_size=16"]


def start(cwd: Path, uri: str, *extra: str, args: list[str] = ARGS) -> subprocess.Popen:
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    return subprocess.Popen([sys.executable, str(ROOT / "pipelines" / "train.py"), *args, *extra], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def run_of(uri: str, cwd: Path):
    client = MlflowClient(uri)
    runs = [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])
            if r.data.tags.get("run_dir", "").startswith(str(cwd))]
    assert len(runs) == 1, [r.info.run_id for r in runs]
    return runs[0]


def wait_for_checkpoint(folder: Path, process: subprocess.Popen, min_step: int) -> None:
    deadline = time.time() + 180
    while time.time() < deadline and process.poll() is None:
        steps = [int(m.group(1)) for p in folder.glob("outputs/runs/*/*/checkpoints/step*.ckpt")
                 if (m := re.match(r"step(\d+)\.ckpt", p.name))]
        if steps and max(steps) >= min_step:
            return
        time.sleep(0.01)
    pytest.fail("no periodic checkpoint appeared")


@pytest.fixture(autouse=True)
def one_torch_thread(monkeypatch):
    """One thread here and in the killed process: the same sums in the same order, so the same numbers."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def metric_histories(uri: str, run_id: str, keys: tuple[str, ...]) -> dict[str, list[tuple[int, float]]]:
    client = MlflowClient(uri)
    return {k: [(m.step, m.value) for m in sorted(client.get_metric_history(run_id, k), key=lambda m: m.timestamp)]
            for k in keys}


def killed_then_resumed(tmp_path, uri: str, compose_cfg, monkeypatch, overrides: list[str], task_class,
                        keys: tuple[str, ...], min_step: int, args: list[str] = ARGS) -> None:
    """Kills `python pipelines/train.py <args> <overrides>` (run in tmp_path) after its periodic checkpoint of
    min_step, in the second (last) epoch, trains the same config whole in this process, resumes the killed run,
    and compares the two."""
    process = start(tmp_path, uri, *overrides, args=args)
    wait_for_checkpoint(tmp_path, process, min_step=min_step)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=120)
    checkpoints = sorted(tmp_path.glob("outputs/runs/*/*/checkpoints/*.ckpt"), key=lambda p: p.stat().st_mtime)
    names = [p.name for p in checkpoints]
    assert "epoch00.ckpt" in names and "epoch01.ckpt" not in names, names  # killed in the second epoch,
    step = int(re.fullmatch(r"step(\d+)\.ckpt", names[-1]).group(1))  # after a periodic checkpoint
    killed = run_of(uri, tmp_path / "outputs")
    assert killed.info.status == "RUNNING"  # SIGKILL leaves no chance to say
    assert len(MlflowClient(uri).get_metric_history(killed.info.run_id, "val/loss")) == 1  # a history to go on

    trained: list[int] = []
    original = task_class.training_step
    monkeypatch.setattr(task_class, "training_step", lambda self, *a, **k: trained.append(1) or original(self, *a, **k))
    train(compose_cfg([*args, *overrides]))  # the same config and seed, never stopped
    whole_steps, trained[:] = len(trained), []
    whole = metric_histories(uri, run_of(uri, tmp_path / "run").info.run_id, keys)
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        train(compose_cfg([*args, *overrides, f"resume={killed.info.run_id}"]))
    assert len(trained) == whole_steps - step  # it went on from the checkpoint, not from the start
    # the datamodule resumes mid-epoch itself: Lightning's warning that the DataLoader cannot is not shown
    assert not [w for w in warned if "ended before the epoch ended" in str(w.message)]

    assert MlflowClient(uri).get_run(killed.info.run_id).info.status == "FINISHED"
    resumed = metric_histories(uri, killed.info.run_id, keys)
    for key in keys:
        logged = [s for s, _ in resumed[key]]
        assert logged and logged == sorted(set(logged)), (key, logged)  # strictly increasing: no duplicate
        assert logged == [s for s, _ in whole[key]], key  # none missing
        assert [v for _, v in resumed[key]] == pytest.approx([v for _, v in whole[key]], abs=1e-6), key
