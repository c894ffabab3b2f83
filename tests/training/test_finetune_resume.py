"""A fine-tuning run killed mid-training (SIGKILL) resumes with `resume=<run_id>` into the same MLflow run, from the
same pretrained encoder and tokenizer, and every epoch's figures are there once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from mlflow.tracking import MlflowClient

from conftest import ROOT, run_under, write_sst2_layout

STEPS_PER_EPOCH = 38  # 304 training rows (320 less the 5% carved as test) in batches of 8


def start(cwd, uri: str, tiny_bert, *extra: str) -> subprocess.Popen:
    args = ["experiment=sentiment_finetune", "debug=smoke", f"model.net.pretrained={tiny_bert}",
            "model.attention_sentences=0", "dataset.max_train_samples=null", "dataset.batch_size=8",
            "trainer.max_epochs=2", "callbacks.early_stopping=null",
            "callbacks.periodic_checkpoint.every_n_train_steps=5", *extra]
    return subprocess.Popen([sys.executable, str(ROOT / "pipelines" / "train.py"), *args], cwd=cwd,
                            env={**os.environ, "MLFLOW_TRACKING_URI": uri}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_a_killed_finetuning_run_resumes_into_the_same_run(tmp_path, tracking_uri, tiny_bert):
    write_sst2_layout(tmp_path / "data" / "sst2", n_train=320, n_dev=30)
    process = start(tmp_path, tracking_uri, tiny_bert)
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        steps = [int(p.stem[4:]) for p in tmp_path.glob("outputs/runs/*/*/checkpoints/step*.ckpt")]
        if steps and max(steps) >= STEPS_PER_EPOCH + 2:  # early in the second epoch
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    run = run_under(tracking_uri, tmp_path / "outputs")
    client = MlflowClient(tracking_uri)
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val/acc")] == [STEPS_PER_EPOCH - 1]
    client.set_terminated(run.info.run_id, "KILLED")  # as the next run on the store would find it

    out, _ = start(tmp_path, tracking_uri, tiny_bert, f"resume={run.info.run_id}").communicate(timeout=300)
    assert run.info.run_id in out, out[-3000:]
    finished = client.get_run(run.info.run_id)
    assert finished.info.status == "FINISHED" and "test/acc" in finished.data.metrics
    for key in ("val/acc", "train/loss", "train/examples_per_sec"):
        steps = [m.step for m in client.get_metric_history(run.info.run_id, key)]
        assert steps == [STEPS_PER_EPOCH - 1, 2 * STEPS_PER_EPOCH - 1], (key, steps)
