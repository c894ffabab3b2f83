"""SST-2 benchmark: test accuracy (the held-out rows; dev chose the checkpoint and stopped training, so its best
accuracy is reported beside, not judged) of each sentiment preset within a training budget, and the epoch time of
models built like the course's Keras baselines (embedding 64 + LSTM 64; Conv1D 32 filters of width 3; no dropout
layers; vocabulary 20k, sentences cut to 50 tokens, batch 64): the fastest of EPOCHS whole epochs, as timings on a
shared machine vary from run to run (an epoch cut by the time limit is no epoch; fewer than EPOCHS whole ones fail
the case).

    python pipelines/benchmark.py classification [--minutes 10]
"""

from __future__ import annotations

from pathlib import Path

from seqlab.benchmarks.runner import held_out, train_preset, whole_epochs, write_report
from seqlab.errors import SeqlabError

TARGETS = {"sentiment_lstm": 0.85, "sentiment_cnn": 0.83, "sentiment_rnn": 0.83}  # test/acc

# The course's Keras models on the same data and machines: dev accuracy and seconds per epoch.
KERAS_BASELINES = {
    "lstm64": {"dev_acc": 0.826, "epoch_sec": 13.5},
    "conv1d_32x3": {"dev_acc": 0.819, "epoch_sec": 5.0},
}

COURSE_SIZED = {
    "lstm64": [
        "experiment=sentiment_lstm",
        "model.net.embed_dim=64",
        "model.net.hidden_size=64",
        "model.net.bidirectional=false",
        "model.net.pooling=last",
        "model.net.dropout=0",
    ],
    "conv1d_32x3": [
        "experiment=sentiment_cnn",
        "model.net.embed_dim=64",
        "model.net.num_filters=32",
        "model.net.kernel_sizes=[3]",
        "model.net.dropout=0",
    ],
}
EPOCHS = 3
COMMON = ["dataset.tokenizer.max_vocab_size=20000", "dataset.tokenizer.max_length=50", "dataset.batch_size=64"]


def run(root: Path, minutes: float | None) -> Path:
    minutes = minutes or 10.0
    presets = {}
    for preset, target in TARGETS.items():
        overrides = [f"experiment={preset}", "callbacks.rich_progress_bar=null"]
        result = train_preset(root, preset, overrides, minutes, ("train/epoch_sec", "val/acc"))
        presets[preset] = {**result, **held_out(preset, result, "test/acc", target)}
    speed = {}
    for name, overrides in COURSE_SIZED.items():
        overrides = [*overrides, *COMMON, f"trainer.max_epochs={EPOCHS}", "callbacks.early_stopping=null",
                     "callbacks.rich_progress_bar=null"]
        result = train_preset(root, name, overrides, minutes, ("train/epoch_sec",))
        speed[name] = {**result, **epoch_time(name, result)}
    return write_report(root, "classification", {"dataset": "sst2 (test: 5% of train held out; dev beside)",
                                                 "presets": presets, "epoch_time": speed})


def epoch_time(case: str, result: dict) -> dict:
    """The fastest of the case's whole epochs against its Keras baseline (met at half its epoch time or less)."""
    history, steps = result.get("history", {}), result.get("history_steps", {})
    seconds = whole_epochs(history.get("train/epoch_sec", []), steps.get("train/epoch_sec", []))
    if len(seconds) < EPOCHS:
        raise SeqlabError(f"{case} trained {len(seconds)} whole epochs of the {EPOCHS} asked (the time limit cut "
                          "it, or its run was not found); give it more time with --minutes")
    epoch_sec = round(min(seconds), 2)
    baseline = KERAS_BASELINES[case]
    return {
        "epoch_sec": epoch_sec,
        "whole_epochs": len(seconds),
        "keras_epoch_sec": baseline["epoch_sec"],
        "keras_dev_acc": baseline["dev_acc"],
        "ratio_to_keras": round(epoch_sec / baseline["epoch_sec"], 3),
        "met": epoch_sec <= baseline["epoch_sec"] / 2,
    }

