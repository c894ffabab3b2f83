"""Runs of the Transformer presets killed with SIGKILL mid-epoch resume with `resume=<run_id>` into the same MLflow
run: the warm-up schedule, the place in the epoch and the dropout random state come back from the checkpoint, and
every metric goes on as if the run had never stopped."""

from __future__ import annotations

from test_translation_resume import KEYS as TRANSLATOR_KEYS

from killed_runs import killed_then_resumed, one_torch_thread  # noqa: F401 (autouse fixture)
from seqlab.tasks.classification import ClassificationTask
from seqlab.tasks.translation import TranslationTask

from conftest import write_multi30k_layout, write_sst2_layout

CLASSIFIER = ["experiment=sentiment_transformer", "model.scheduler.num_warmup_steps=10"]
CLASSIFIER_KEYS = ("train/loss", "val/loss", "val/acc", "test/acc")
TRANSLATOR = ["experiment=translate_transformer", "model.net.num_layers=1", "model.scheduler.num_warmup_steps=10",
              "dataset.max_eval_samples=12"]


def test_a_killed_transformer_classifier_resumes_into_the_same_history(tmp_path, tracking_uri, compose_cfg,
                                                                       monkeypatch):
    write_sst2_layout(tmp_path / "data" / "sst2", n_train=320, n_dev=30)  # 38 steps an epoch
    killed_then_resumed(tmp_path, tracking_uri, compose_cfg, monkeypatch, CLASSIFIER, ClassificationTask,
                        CLASSIFIER_KEYS, 50)


def test_a_killed_transformer_translator_resumes_into_the_same_history(tmp_path, tracking_uri, compose_cfg,
                                                                       monkeypatch):
    write_multi30k_layout(tmp_path / "data" / "multi30k", n_train=320, n_val=12, n_test=12)  # 40 steps an epoch
    killed_then_resumed(tmp_path, tracking_uri, compose_cfg, monkeypatch, TRANSLATOR, TranslationTask,
                        TRANSLATOR_KEYS, 50)
