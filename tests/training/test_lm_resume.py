"""A language-model run killed with SIGKILL mid-epoch resumes with `resume=<run_id>` into the same MLflow run: its
tokenizer and its place in the epoch's blocks come back from the checkpoint, every metric's history goes on with
no gap and no duplicate, and the final metrics equal those of a run that was never stopped."""

from __future__ import annotations

import re
import signal
import warnings

import pytest
import torch
from mlflow.tracking import MlflowClient
from test_resume import ARGS, run_of, start, wait_for_checkpoint

from seqlab.commands.train import train
from seqlab.tasks.language_model import LanguageModelTask

from lm_corpus import write_tinyshakespeare_layout

LM = ["experiment=textgen_rnn", "dataset.block_size=32", "model.sample_max_new_tokens=20",
      "model.scheduler.num_warmup_steps=2"]  # with ARGS: 2 epochs of 76 steps of 8 blocks, a checkpoint every 10
LM_KEYS = ("train/loss", "val/loss", "val/ppl", "val/bpc", "test/loss", "test/ppl")


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


def test_a_killed_language_model_resumes_into_the_same_history(tmp_path, tracking_uri, compose_cfg, monkeypatch):
    write_tinyshakespeare_layout(tmp_path / "data" / "tinyshakespeare")
    killed_then_resumed(tmp_path, tracking_uri, compose_cfg, monkeypatch, LM, LanguageModelTask, LM_KEYS, 100)
