"""A language-model run killed with SIGKILL mid-epoch resumes with `resume=<run_id>` into the same MLflow run: its
tokenizer and its place in the epoch's blocks come back from the checkpoint, every metric's history goes on with
no gap and no duplicate, and the final metrics equal those of a run that was never stopped."""

from __future__ import annotations

from killed_runs import killed_then_resumed, metric_histories, one_torch_thread  # noqa: F401 (autouse fixture)
from seqlab.tasks.language_model import LanguageModelTask

from lm_corpus import write_tinyshakespeare_layout

LM = ["experiment=textgen_rnn", "dataset.block_size=32", "model.sample_max_new_tokens=20",
      "model.scheduler.num_warmup_steps=2"]  # with ARGS: 2 epochs of 76 steps of 8 blocks, a checkpoint every 10
LM_KEYS = ("train/loss", "val/loss", "val/ppl", "val/bpc", "test/loss", "test/ppl")


def test_a_killed_language_model_resumes_into_the_same_history(tmp_path, tracking_uri, compose_cfg, monkeypatch):
    write_tinyshakespeare_layout(tmp_path / "data" / "tinyshakespeare")
    killed_then_resumed(tmp_path, tracking_uri, compose_cfg, monkeypatch, LM, LanguageModelTask, LM_KEYS, 100)
