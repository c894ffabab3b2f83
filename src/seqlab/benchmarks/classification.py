"""SST-2 benchmark: dev accuracy of each sentiment preset within a training budget, and the epoch time of
models built like the course's Keras baselines (embedding 64 + LSTM 64; Conv1D 32 filters of width 3; no dropout
layers; vocabulary 20k, sentences cut to 50 tokens, batch 64): the fastest of EPOCHS epochs, as timings on a
shared machine vary from run to run.

    python pipelines/benchmark.py classification [--minutes 10]
"""

from __future__ import annotations

from pathlib import Path

from seqlab.benchmarks.runner import train_preset, write_report

TARGETS = {"sentiment_lstm": 0.85, "sentiment_cnn": 0.83, "sentiment_rnn": 0.83}

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
        result.update(target=target, met=result["value"] >= target)
        presets[preset] = result
    speed = {}
    for name, overrides in COURSE_SIZED.items():
        overrides = [*overrides, *COMMON, f"trainer.max_epochs={EPOCHS}", "callbacks.early_stopping=null",
                     "callbacks.rich_progress_bar=null"]
        result = train_preset(root, name, overrides, minutes, ("train/epoch_sec",))
        epoch_sec = round(min(result["history"]["train/epoch_sec"]), 2)
        baseline = KERAS_BASELINES[name]
        speed[name] = {
            **result,
            "epoch_sec": epoch_sec,
            "keras_epoch_sec": baseline["epoch_sec"],
            "keras_dev_acc": baseline["dev_acc"],
            "ratio_to_keras": round(epoch_sec / baseline["epoch_sec"], 3),
            "met": epoch_sec <= baseline["epoch_sec"] / 2,
        }
    return write_report(root, "classification", {"dataset": "sst2 (dev)", "presets": presets, "epoch_time": speed})

