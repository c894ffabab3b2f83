"""A preset's training steps timed on the real net and loss, which sizes a benchmark run's epochs to its budget
(the language-model and self-attention suites)."""

from __future__ import annotations

import pytest

from seqlab.benchmarks import language_model, self_attention
from seqlab.benchmarks.step_timing import TIMED_STEPS, StepTiming, time_training_steps
from seqlab.errors import SeqlabError

from conftest import write_multi30k_layout
from lm_corpus import write_tinyshakespeare_layout

LM = ["experiment=textgen_rnn", "debug=smoke", "model.net.embed_dim=16", "model.net.hidden_size=32",
      "dataset.block_size=32", "dataset.batch_size=16"]
TRANSLATOR = ["experiment=translate_transformer", "debug=smoke", "model.net.num_layers=1", "model.net.embed_dim=32",
              "model.net.num_heads=2", "model.net.hidden_size=64", "dataset.batch_size=16"]


def test_the_epochs_fill_the_share_of_the_budget_the_step_time_gives():
    timing = StepTiming(seconds=2.0, timed_batches=[{}] * 4, steps_per_epoch=100)  # 0.5 s a step: 50 s an epoch
    assert timing.seconds_per_step == 0.5
    assert timing.epochs_within(10.0, 0.75) == 9  # 450 s / 50 s
    assert timing.epochs_within(0.5, 0.75) == 1  # never less than one epoch


def test_a_language_model_preset_is_timed_on_its_own_batches_after_a_warm_up_step(tmp_path):
    write_tinyshakespeare_layout(tmp_path / "data" / "tinyshakespeare")
    # 256 blocks of 32 tokens in batches of 16: 16 steps an epoch, the first untimed
    speed = language_model.training_speed(tmp_path, LM)
    assert speed["tokens_per_epoch"] == 16 * 16 * 32
    assert speed["tokens_per_sec"] > 0
    timing = time_training_steps(tmp_path, LM, lambda task, batch: task.next_token_loss(batch)[0])
    assert (len(timing.timed_batches), timing.steps_per_epoch) == (min(TIMED_STEPS, 15), 16)
    assert timing.timed_batches[0]["input_ids"].shape == (16, 32) and timing.seconds > 0


def test_a_translation_preset_gets_the_epochs_its_timed_steps_fit_in_the_budget(tmp_path, monkeypatch):
    write_multi30k_layout(tmp_path / "data" / "multi30k", n_train=48, n_val=8, n_test=8)  # 3 steps an epoch
    seen = []
    real = time_training_steps

    def recorded(root, overrides, loss_of):
        seen.append(real(root, overrides, loss_of))
        return seen[-1]

    monkeypatch.setattr(self_attention, "time_training_steps", recorded)
    epochs = self_attention.fitted_epochs(tmp_path, TRANSLATOR, minutes=1.0)
    [timing] = seen
    assert (len(timing.timed_batches), timing.steps_per_epoch) == (2, 3)  # all but the warm-up step
    assert epochs == timing.epochs_within(1.0, self_attention.TRANSLATION_FILL) >= 1


def test_a_preset_of_one_training_batch_cannot_be_timed(tmp_path):
    write_multi30k_layout(tmp_path / "data" / "multi30k", n_train=16, n_val=8, n_test=8)
    with pytest.raises(SeqlabError, match="has one training batch: too few to time a step after a warm-up one"):
        self_attention.fitted_epochs(tmp_path, TRANSLATOR, minutes=1.0)
