"""SST-2 benchmark: the sentiment presets' test accuracy, and course-sized models timed beside their peers.

    python pipelines/benchmark.py classification [--minutes 10] [--quick]
"""

from __future__ import annotations

from pathlib import Path

from seqlab.benchmarks.peers.batch_export import export_batches
from seqlab.benchmarks.runner import held_out, quick_overrides, runs_dir, train_preset, write_report
from seqlab.benchmarks.side_by_side import SEQLAB, Case, Side, Target, run_case

# test/acc on the held-out rows; dev chose the checkpoint and stopped training, so its best accuracy is
# reported beside, not judged
TARGETS = {"sentiment_lstm": 0.85, "sentiment_cnn": 0.83, "sentiment_rnn": 0.83}

# models built like the course's Keras models: embedding 64 + LSTM 64, or GRU 64; Conv1D 32 filters of width
# 3; no dropout (and COMMON: vocabulary 20k, sentences cut to 50 tokens, batch 64)
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
    "gru64": [
        "experiment=sentiment_rnn",
        "model.net.embed_dim=64",
        "model.net.hidden_size=64",
        "model.net.bidirectional=false",
        "model.net.pooling=last",
        "model.net.dropout=0",
    ],
}
EPOCHS = 3
QUICK_EPOCHS = 2  # whole epochs are told from a cut one only among two or more
COMMON = ["dataset.tokenizer.max_vocab_size=20000", "dataset.tokenizer.max_length=50",
          "dataset.batch_size=64", "callbacks.early_stopping=null", "callbacks.rich_progress_bar=null"]
FLOOR, KERAS = "torch_loop", "keras"
SPEED_TARGETS = {  # seqlab's seconds per epoch over each peer's, at most (LSTM and CNN); the LSTM preset's
    # seconds from the command to its first optimizer step, at most
    "lstm64": [Target(FLOOR, "epoch_sec", 1.15), Target(KERAS, "epoch_sec", 0.5),
               Target(SEQLAB, "first_step_sec", 8.0)],
    "conv1d_32x3": [Target(FLOOR, "epoch_sec", 1.15), Target(KERAS, "epoch_sec", 0.5)],
}
# the floor: a plain PyTorch loop over seqlab's own datamodule and net; the course's Keras model where
# TensorFlow is installed (`pip install 'seqlab[peers]'`), elsewhere reported as skipped, with why
PEERS = {FLOOR: "seqlab.benchmarks.peers.torch_loop", KERAS: "seqlab.benchmarks.peers.keras_classification"}
SEQLAB_SIDE = "seqlab.benchmarks.preset_process"


def run(root: Path, minutes: float | None, quick: bool = False) -> Path:
    """Each sentiment preset judged on its test accuracy within the budget; then each COURSE_SIZED model
    trained side by side with its PEERS in the same benchmark run, on the same rows, vocabulary, split,
    batches in the same order and budget (EPOCHS epochs), each side in its own process, interleaved (peers,
    seqlab, peers, seqlab; the median of each side), judged on SPEED_TARGETS."""
    minutes = minutes or 10.0
    presets = {}
    for preset, target in TARGETS.items():
        overrides = [f"experiment={preset}", "callbacks.rich_progress_bar=null", *quick_overrides(quick)]
        result = train_preset(root, preset, overrides, minutes, ("train/epoch_sec", "val/acc"))
        presets[preset] = {**result, **held_out(preset, result, "test/acc", target)}
    cases = {name: run_case(root, course_case(root, name, minutes, quick)) for name in COURSE_SIZED}
    return write_report(root, "classification", {
        "dataset": "sst2 (test: 5% of train held out; dev beside)",
        "presets": presets,
        "side_by_side": {"epochs": QUICK_EPOCHS if quick else EPOCHS, "budget_minutes": minutes,
                         "peers": {FLOOR: "plain PyTorch loop over seqlab's datamodule and net",
                                   KERAS: "the course's Keras model on seqlab's batches, padded to 50"}},
        "cases": cases,
    }, quick)


def course_case(root: Path, name: str, minutes: float, quick: bool) -> Case:
    """The case's sides: the floor, Keras (on seqlab's batches, exported once for every round), seqlab."""
    epochs = QUICK_EPOCHS if quick else EPOCHS
    overrides = [*COURSE_SIZED[name], *COMMON, f"trainer.max_epochs={epochs}", *quick_overrides(quick)]
    batches = export_batches(root, overrides, runs_dir(root) / f"{name}-batches.npz")
    budget = ("--minutes", str(minutes))
    return Case(name, [
        Side(FLOOR, PEERS[FLOOR], (*budget, *overrides)),
        Side(KERAS, PEERS[KERAS], (*budget, "--batches", str(batches))),
        Side(SEQLAB, SEQLAB_SIDE, ("--name", name, *budget, "--quality", "test/acc", *overrides)),
    ], SPEED_TARGETS.get(name, []))
