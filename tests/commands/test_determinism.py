"""One config and seed give the same metrics run after run; what a run needs to be repeated is logged with it;
a NaN loss stops a run with the step and the last good checkpoint, and the run ends FAILED."""

from __future__ import annotations

import pytest
import torch
from mlflow.tracking import MlflowClient

from seqlab.commands.train import train
from seqlab.errors import SeqlabError
from seqlab.tasks.classification import ClassificationTask

from conftest import run_under

KEYS = ("train/loss", "val/loss", "val/acc", "val/f1", "test/acc", "test/f1")


def history(tracking_uri: str, run_id: str) -> dict:
    client = MlflowClient(tracking_uri)
    return {k: [(m.step, m.value) for m in client.get_metric_history(run_id, k)] for k in KEYS}


def test_the_same_seed_gives_the_same_metrics(compose_cfg, sst2_dir, tracking_uri, tmp_path):
    overrides = ["debug=smoke", "trainer.max_epochs=2", "model.net.dropout=0.3", "seed=7"]
    runs = []
    for folder in (tmp_path / "first", tmp_path / "second"):
        cfg = compose_cfg(overrides)
        cfg.paths.output_dir = str(folder / "run")
        train(cfg)
        runs.append(run_under(tracking_uri, folder))
    assert runs[0].info.run_id != runs[1].info.run_id  # two runs, not the same one read twice
    first, second = (history(tracking_uri, r.info.run_id) for r in runs)
    assert first == second and all(first[k] for k in KEYS)

    params = runs[0].data.params
    assert params["seed"] == "7"
    assert params["env.torch"] == torch.__version__.split("+")[0] or params["env.torch"] == torch.__version__
    assert {"env.python", "env.lightning", "env.tokenizers"} <= set(params)
    import hashlib

    expected = hashlib.sha256((sst2_dir / "train.tsv").read_bytes()).hexdigest()
    assert params["data.sha256.train.tsv"] == expected and len(params["data.sha256.dev.tsv"]) == 64


def test_a_nan_loss_stops_the_run_naming_the_step_and_the_last_checkpoint(compose_cfg, sst2_dir, tracking_uri,
                                                                          monkeypatch, tmp_path):
    original = ClassificationTask.training_step

    def poisoned(self, batch, batch_idx):
        loss = original(self, batch, batch_idx)
        return loss * float("nan") if self.global_step >= 6 else loss

    monkeypatch.setattr(ClassificationTask, "training_step", poisoned)
    cfg = compose_cfg(["debug=smoke", "dataset.batch_size=16", "callbacks.periodic_checkpoint.every_n_train_steps=4"])
    with pytest.raises(SeqlabError, match=r"the training loss became nan at step 7 \(epoch 0\); the last good "
                                          r"checkpoint is .*step0000004.ckpt; lower model.optimizer.lr"):
        train(cfg)
    assert run_under(tracking_uri, tmp_path).info.status == "FAILED"
