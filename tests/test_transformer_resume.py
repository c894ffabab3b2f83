"""Runs of the Transformer presets killed with SIGKILL mid-epoch resume with `resume=<run_id>` into the same MLflow
run: the warm-up schedule, the place in the epoch and the dropout random state come back from the checkpoint, and
every metric goes on as if the run had never stopped."""

from __future__ import annotations

from conftest import write_sst2_layout
from test_lm_resume import killed_then_resumed, one_torch_thread  # noqa: F401 (autouse fixture)

from seqlab.tasks.classification import ClassificationTask

CLASSIFIER = ["experiment=sentiment_transformer", "model.scheduler.num_warmup_steps=10"]
CLASSIFIER_KEYS = ("train/loss", "val/loss", "val/acc", "test/acc")


def test_a_killed_transformer_classifier_resumes_into_the_same_history(tmp_path, tracking_uri, compose_cfg,
                                                                       monkeypatch):
    write_sst2_layout(tmp_path / "data" / "sst2", n_train=320, n_dev=30)  # 38 steps an epoch
    killed_then_resumed(tmp_path, tracking_uri, compose_cfg, monkeypatch, CLASSIFIER, ClassificationTask,
                        CLASSIFIER_KEYS, 50)
