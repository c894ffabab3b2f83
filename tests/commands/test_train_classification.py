"""End-to-end classification runs through the same config and code path as `python pipelines/train.py`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from seqlab.commands.train import train
from seqlab.inference.text_classifier import TextClassifier

from conftest import history_values, kept_checkpoint, run_under

EPOCH_METRICS = {"train/loss", "val/loss", "val/acc", "val/f1", "train/tokens_per_sec", "train/epoch_sec"}
FINAL_METRICS = {"test/acc", "test/f1"}


def assert_tested_with_the_kept_checkpoint(run_dir: Path, test_acc: float) -> None:
    """reports/predictions.csv holds what the checkpoint the run kept predicts for each test row, and test/acc is
    their accuracy: the test split was scored with the kept weights."""
    with open(run_dir / "reports" / "predictions.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    expected = TextClassifier.from_checkpoint(kept_checkpoint(run_dir)).predict([row["text"] for row in rows])
    assert [row["predicted"] for row in rows] == [e["label"] for e in expected]
    assert [float(row["probability"]) for row in rows] == pytest.approx([e["probability"] for e in expected], abs=2e-4)
    assert test_acc == pytest.approx(sum(row["gold"] == row["predicted"] for row in rows) / len(rows))


def assert_dataset_inputs(run, rows: dict[str, int]) -> None:
    """The runs table's Dataset column: one MLflow dataset input a split, with its rows and the file it came from
    (the test split carved from train names train's)."""
    inputs = {i.dataset.name: i.dataset for i in run.inputs.dataset_inputs}
    assert {name: json.loads(d.profile)["num_rows"] for name, d in inputs.items()} == {
        f"sst2-{split}": count for split, count in rows.items()}
    assert [Path(u).name for u in json.loads(inputs["sst2-test"].source)["uris"]] == ["train.tsv"]


@pytest.mark.parametrize("model", ["lstm", "cnn", "rnn"])
def test_each_model_trains_and_lands_a_finished_run(model, compose_cfg, sst2_dir, tracking_uri, tmp_path):
    cfg = compose_cfg([f"model={model}", "debug=smoke", "trainer.max_epochs=2"])
    value = train(cfg)

    client = MlflowClient(tracking_uri)
    run = run_under(tracking_uri, tmp_path)
    assert run.info.status == "FINISHED"
    assert EPOCH_METRICS | FINAL_METRICS <= set(run.data.metrics)
    accuracies = history_values(tracking_uri, run, "val/acc")
    assert len(accuracies) == 2 and value == pytest.approx(max(accuracies))  # one per epoch; the best returned
    assert run.data.params["model.net._target_"].endswith(("RecurrentClassifier", "CNNClassifier"))
    assert run.data.params["dataset.name"] == "sst2" and run.data.tags["model"] == model
    assert {"git_commit", "overrides", "command"} <= set(run.data.tags)
    assert "debug=smoke" in run.data.tags["overrides"]
    assert_dataset_inputs(run, {"train": 256, "val": 60, "test": int(300 * 0.05)})  # the tiny dev file has 60
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "reports", "tokenizer", "checkpoints"} <= artifacts
    reports = {a.path for a in client.list_artifacts(run.info.run_id, "reports")}
    assert {"reports/confusion_matrix.png", "reports/predictions.csv"} <= reports
    checkpoint = kept_checkpoint(tmp_path / "run")
    assert [a.path for a in client.list_artifacts(run.info.run_id, "checkpoints")] == [f"checkpoints/{checkpoint.name}"]
    assert_tested_with_the_kept_checkpoint(tmp_path / "run", run.data.metrics["test/acc"])

    mlflow.set_tracking_uri(tracking_uri)
    texts = ["a wonderful film", "dull", "the plot is boring and the cast quite awful"]
    logged = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model", dst_path=str(tmp_path / "logged"))
    predictions = logged.predict(texts)
    expected = TextClassifier.from_checkpoint(checkpoint).predict(texts)
    assert list(predictions["label"]) == [e["label"] for e in expected]
    assert list(predictions["probability"]) == pytest.approx([e["probability"] for e in expected], abs=1e-5)


def test_learns_the_tiny_task(compose_cfg, sst2_dir):
    """The tiny data's label follows from one word: six epochs of the LSTM must learn it."""
    cfg = compose_cfg(["model=lstm", "debug=smoke", "trainer.max_epochs=6", "logger=none"])
    assert train(cfg) >= 0.9


def test_predictions_csv_lists_every_test_row(compose_cfg, sst2_dir, tmp_path):
    cfg = compose_cfg(["model=cnn", "debug=smoke", "logger=csv"])
    train(cfg)
    run_dir = tmp_path / "run"
    lines = (run_dir / "reports" / "predictions.csv").read_text().splitlines()
    assert lines[0] == "text,gold,predicted,probability"
    assert len(lines) - 1 == max(1, int(300 * 0.05))  # the carved test split
    assert (run_dir / "csv" / "metrics.csv").read_text().count("val/acc") >= 1
    assert (run_dir / "csv" / "status").read_text().strip() == "FINISHED"


def test_toy_dataset_runs(compose_cfg, tmp_path):
    cfg = compose_cfg(["dataset=toy", "model=rnn", "debug=smoke", "trainer.max_epochs=2", "logger=csv"])
    value = train(cfg)
    with open(tmp_path / "run" / "csv" / "metrics.csv", encoding="utf-8") as fh:
        logged = list(csv.DictReader(fh))
    accuracies = [float(row["val/acc"]) for row in logged if row["val/acc"]]
    assert len(accuracies) == 2 and value == pytest.approx(max(accuracies))
    rows = (tmp_path / "run" / "reports" / "predictions.csv").read_text().splitlines()
    assert rows[0] == "text,gold,predicted,probability" and len(rows) - 1 == 6  # the six sentences
    [test_acc] = [float(row["test/acc"]) for row in logged if row.get("test/acc")]
    assert_tested_with_the_kept_checkpoint(tmp_path / "run", test_acc)


def test_ddp_ranks_share_one_run_folder_and_one_mlflow_run(tmp_path, sst2_dir, tracking_uri):
    """Two CPU processes under trainer=ddp: Lightning re-launches the script for rank 1, which must write into
    rank 0's run folder and record nothing of its own."""
    import os
    import subprocess
    import sys

    from conftest import ROOT

    client = MlflowClient(tracking_uri)
    before = {r.info.run_id for e in client.search_experiments() for r in client.search_runs([e.experiment_id])}
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri}
    args = ["debug=smoke", "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2"]
    result = subprocess.run(
        [sys.executable, str(ROOT / "pipelines" / "train.py"), *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run_dirs = list((tmp_path / "outputs" / "runs").glob("*/*"))
    assert len(run_dirs) == 1
    assert (run_dirs[0] / "train_ddp_process_1.log").exists()
    new = [
        r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])
        if r.info.run_id not in before
    ]
    assert [r.info.status for r in new] == ["FINISHED"]
    rows = (run_dirs[0] / "reports" / "predictions.csv").read_text().splitlines()[1:]
    assert len(rows) == max(1, int(300 * 0.05))  # both ranks' shards, each row once


def test_sigterm_saves_a_checkpoint_and_marks_the_run_killed(tmp_path, tracking_uri):
    """SIGTERM mid-training (a scheduler's stop): the process saves a checkpoint, stops, and its MLflow run ends
    KILLED, not RUNNING. Ctrl-C is tested with resuming, in tests/training/test_resume.py."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from conftest import ROOT, write_sst2_layout

    write_sst2_layout(tmp_path / "data" / "sst2", n_train=1500, n_dev=50)
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri}
    args = ["debug=smoke", "dataset.max_train_samples=null", "dataset.batch_size=8", "trainer.max_epochs=50",
            "callbacks.early_stopping=null", "model.net.embed_dim=16", "model.net.hidden_size=16"]
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "pipelines" / "train.py"), *args],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    client = MlflowClient(tracking_uri)
    run = None
    deadline = time.time() + 400
    while run is None and time.time() < deadline:  # wait until it has logged an epoch
        time.sleep(1)
        for experiment in client.search_experiments():
            for candidate in client.search_runs([experiment.experiment_id], "attributes.status = 'RUNNING'"):
                ours = candidate.data.tags.get("run_dir", "").startswith(str(tmp_path))
                if ours and "val/acc" in candidate.data.metrics:
                    run = candidate
    assert run is not None, "the run never logged an epoch"
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM
    assert client.get_run(run.info.run_id).info.status == "KILLED"
    assert list(tmp_path.glob("outputs/runs/*/*/checkpoints/interrupted.ckpt"))


def test_a_progress_bar_only_when_configured(compose_cfg, capfd):
    """callbacks.rich_progress_bar=null (as debug=smoke sets it) means no bar, not Lightning's default one."""
    train(compose_cfg(["dataset=toy", "debug=smoke", "logger=none"]))
    quiet = capfd.readouterr()
    assert "Epoch 0" not in quiet.out + quiet.err  # neither rich's "Epoch 0/0" nor tqdm's "Epoch 0: 100%"
    train(compose_cfg(["dataset=toy", "debug=smoke", "logger=none",
                       "callbacks.rich_progress_bar={_target_:lightning.pytorch.callbacks.RichProgressBar}"]))
    assert "Epoch 0/0" in capfd.readouterr().out


def test_each_lightning_message_shows_once_and_reaches_the_run_log(tmp_path, tracking_uri):
    """Lightning prints its messages with a console handler of its own; Hydra's console handler must not print
    them a second time, and Hydra's log file in the run folder still records them. Lightning's tip to install
    another logger is not shown."""
    import os
    import subprocess
    import sys

    from conftest import ROOT

    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri}
    result = subprocess.run(
        [sys.executable, str(ROOT / "pipelines" / "train.py"), "dataset=toy", "debug=smoke", "logger=none"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    console = result.stdout + result.stderr
    assert console.count("GPU available:") == 1
    assert console.count("`Trainer.fit` stopped") == 1
    assert "litlogger" not in console
    [log] = tmp_path.glob("outputs/runs/*/*/train.log")
    assert "[lightning.pytorch.utilities.rank_zero][INFO] - GPU available:" in log.read_text()


@pytest.mark.parametrize("best_kept", [True, False])
def test_the_test_split_is_scored_with_the_best_weights_or_else_the_last(compose_cfg, sst2_dir, monkeypatch,
                                                                         best_kept):
    """Without the best-metric checkpoint, test scores the weights training ended with, not the newest periodic
    checkpoint (up to every_n_train_steps steps older)."""
    import lightning.pytorch as pl

    tested, real_test = [], pl.Trainer.test

    def test(self, *args, **kwargs):
        tested.append(kwargs["ckpt_path"])
        return real_test(self, *args, **kwargs)

    monkeypatch.setattr(pl.Trainer, "test", test)
    overrides = ["debug=smoke", "trainer.max_epochs=2", "callbacks.periodic_checkpoint.every_n_train_steps=1"]
    train(compose_cfg(overrides + ([] if best_kept else ["callbacks.model_checkpoint=null"])))
    [checkpoint] = tested
    if best_kept:
        assert checkpoint is not None and checkpoint.endswith(".ckpt") and "/epoch0" in checkpoint
    else:
        assert checkpoint is None


def test_a_warm_up_schedule_steps_every_batch_for_a_classifier_too(compose_cfg, sst2_dir, tracking_uri, tmp_path):
    """A scheduler that takes num_training_steps (transformers' schedules) is sized from the run and stepped
    every batch, as for language models."""
    schedule = "{_target_:transformers.get_linear_schedule_with_warmup,_partial_:true,num_warmup_steps:2}"
    train(compose_cfg(["debug=smoke", "trainer.max_epochs=2", f"model.scheduler={schedule}",
                       "callbacks.lr_monitor.logging_interval=step"]))
    client = MlflowClient(tracking_uri)
    run = run_under(tracking_uri, tmp_path)
    rates = [m.value for m in sorted(client.get_metric_history(run.info.run_id, "lr-AdamW"), key=lambda m: m.step)]
    assert run.info.status == "FINISHED" and len(rates) > 4  # one a step, not one an epoch
    peak = max(rates)
    assert rates[0] < peak and rates[-1] < peak  # warmed up, then decayed


def test_a_step_limit_inside_the_first_epoch_ends_the_run_finished(compose_cfg, sst2_dir, tracking_uri, tmp_path):
    """trainer.max_steps reached before the first validation: early stopping, which judges validations, has
    none to judge (it failed the run for want of val/acc); the weights training ended with are tested."""
    value = train(compose_cfg(["model=cnn", "debug=smoke", "trainer.max_steps=2"]))
    run = run_under(tracking_uri, tmp_path)
    assert run.info.status == "FINISHED" and value is None  # val/acc was never logged
    assert "test/acc" in run.data.metrics and "val/acc" not in run.data.metrics
