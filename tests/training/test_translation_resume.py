"""A translation run killed with SIGKILL mid-epoch resumes with `resume=<run_id>` into the same MLflow run: its two
tokenizers, its place in the epoch's batches, the learning-rate schedule and the dropout random state come back
from the checkpoint, and every metric (BLEU included) goes on as if the run had never stopped."""

from __future__ import annotations

from killed_runs import killed_then_resumed, one_torch_thread  # noqa: F401 (autouse fixture)
from seqlab.tasks.translation import TranslationTask

from conftest import write_multi30k_layout

TRANSLATION = ["experiment=translate_luong", "model.net.decoder_hidden_size=32", "dataset.max_eval_samples=12"]
KEYS = ("train/loss", "val/loss", "val/ppl", "val/bleu", "val/chrf", "test/bleu", "test/chrf", "test/bleu_greedy")


def test_a_killed_translation_run_resumes_into_the_same_history(tmp_path, tracking_uri, compose_cfg, monkeypatch):
    write_multi30k_layout(tmp_path / "data" / "multi30k", n_train=320, n_val=12, n_test=12)  # 40 steps an epoch
    killed_then_resumed(tmp_path, tracking_uri, compose_cfg, monkeypatch, TRANSLATION, TranslationTask, KEYS, 50)
