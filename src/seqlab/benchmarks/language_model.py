"""Tiny Shakespeare benchmark: test loss of the char-level LSTM and GPT-2 from scratch, and GPT-2's training
and generation speed beside their peers.

    python pipelines/benchmark.py language_model [--minutes 15] [--quick]
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

from seqlab.benchmarks.generation_speed import PROMPT
from seqlab.benchmarks.runner import (
    THREADS,
    held_out,
    quick_overrides,
    torch_threads,
    train_preset,
    write_report,
)
from seqlab.benchmarks.side_by_side import Case, Side, Target, in_process, run_case
from seqlab.benchmarks.step_timing import time_training_steps
from seqlab.benchmarks.translation import tokens_per_sec
from seqlab.data.download import ensure_files
from seqlab.data.token_blocks import IGNORE

# test loss, nats per character, on the last 5% of the text (the best validation loss, which chose the
# checkpoint, is reported beside it)
TARGETS = {"textgen_rnn": 1.60, "gpt2_scratch": 1.55}
FILL = 0.85  # share of the budget the epochs are sized to (validation, samples and start-up take the rest)
QUICK_EPOCHS = 2  # --quick: each preset's epochs (whole epochs are told from a cut one only among two)
SPEED_EPOCHS, SPEED_BATCHES = 2, 150  # each side-by-side training run
MAX_NEW_TOKENS, REPEATS = 200, 3  # generation: tokens after the prompt (within the context), timed calls
QUICK_NEW_TOKENS, QUICK_REPEATS = 16, 1
# the floor: a plain PyTorch loop over seqlab's own datamodule and net (peers/torch_loop.py); transformers'
# own generate() (peers/hf_generate.py)
FLOOR, TRANSFORMERS = "torch_loop", "transformers"
SIDE_BY_SIDE = ["experiment=gpt2_scratch", "trainer=cpu", "callbacks.rich_progress_bar=null",
                "callbacks.early_stopping=null", f"trainer.max_epochs={SPEED_EPOCHS}",
                f"trainer.limit_train_batches={SPEED_BATCHES}"]


def run(root: Path, minutes: float | None, quick: bool = False) -> Path:
    """On 2 CPU threads: textgen_rnn and gpt2_scratch, each judged on its test loss within the budget; then,
    side by side in the same benchmark run, each side in its own process, interleaved (peer, seqlab, peer,
    seqlab; the median of each side): GPT-2's training beside the floor (training_case) and its generation
    beside transformers' (generation_case); and the corpus_scaling case.

    Each preset's learning rate decays over the whole run (trainer.max_epochs), so the number of epochs is
    fitted to the budget first: a few timed training steps give this machine's tokens per second, and the run
    gets the epochs that fill FILL of the budget (trainer.max_time still stops it at the budget)."""
    with torch_threads(THREADS):
        return _run(root, minutes or 15.0, quick)


def _run(root: Path, minutes: float, quick: bool) -> Path:
    presets = {}
    for preset, target in TARGETS.items():
        overrides = [f"experiment={preset}", "trainer=cpu", "callbacks.rich_progress_bar=null",
                     *quick_overrides(quick)]
        # --quick: a fixed two epochs of the smoke slices (fitting them to the budget would fill it)
        speed = None if quick else training_speed(root, overrides)
        epochs = QUICK_EPOCHS if quick else max(1, math.floor(
            minutes * 60 * FILL * speed["tokens_per_sec"] / speed["tokens_per_epoch"]))
        overrides.append(f"trainer.max_epochs={epochs}")
        histories = ("val/loss", "train/epoch_sec", "train/tokens_per_sec")
        result = train_preset(root, preset, overrides, minutes, histories)
        presets[preset] = {**result, **held_out(preset, result, "test/loss", target), "calibration": speed,
                           "epochs": epochs}
    model_dir = Path(presets["gpt2_scratch"]["run_dir"]) / "model"
    cases = {"gpt2_scratch": run_case(root, training_case(minutes, quick)),
             "gpt2_generation": generation_case_report(root, generation_case(model_dir, quick))}
    return write_report(root, "language_model", {
        "dataset": "tinyshakespeare (val, char-level)", "threads": THREADS, "budget_minutes": minutes,
        "presets": presets, "cases": cases, "corpus_scaling": corpus_scaling(root, quick),
    }, quick)


def training_case(minutes: float, quick: bool) -> Case:
    """GPT-2 from scratch, the floor then seqlab, on the same batches in the same order for SPEED_EPOCHS
    epochs of at most SPEED_BATCHES batches: target seqlab's seconds per epoch over the floor's <= 1.15."""
    overrides = [*SIDE_BY_SIDE, *quick_overrides(quick)]
    budget = ("--minutes", str(minutes))
    return Case("gpt2_scratch", [
        Side(FLOOR, "seqlab.benchmarks.peers.torch_loop", (*budget, *overrides)),
        Side("seqlab", "seqlab.benchmarks.preset_process",
             ("--name", "gpt2_scratch-side-by-side", *budget, "--quality", "test/loss", *overrides)),
    ], [Target(FLOOR, "epoch_sec", 1.15)])


def generation_case(model_dir: Path, quick: bool) -> Case:
    """Greedy generation with and without the cache, transformers' generate() then seqlab's, on the trained
    GPT-2: as many new tokens as fit its context after the prompt, at most MAX_NEW_TOKENS; same prompt and
    lengths (a speed-up only where both ways gave the same tokens). Target: seqlab's speed-up at least
    transformers'."""
    context = json.loads((model_dir / "config.json").read_text())["n_positions"]
    # a token is a character or more
    new = QUICK_NEW_TOKENS if quick else min(MAX_NEW_TOKENS, context - len(PROMPT))
    repeats = QUICK_REPEATS if quick else REPEATS
    args = ("--model", str(model_dir), "--new-tokens", str(new), "--repeats", str(repeats))
    return Case("gpt2_generation", [Side(TRANSFORMERS, "seqlab.benchmarks.peers.hf_generate", args),
                                    Side("seqlab", "seqlab.benchmarks.generation_speed", args)],
                [Target(TRANSFORMERS, "kv_cache_speedup", 1.0, at_most=False)])


def generation_case_report(root: Path, case: Case) -> dict:
    """The generation case, and whether both tools generated the same tokens."""
    report = run_case(root, case)
    digests = {side: figures.get("tokens_sha1") for side, figures in report["sides"].items()}
    return {**report, "same_tokens_as_transformers": digests["seqlab"] is not None
            and digests["seqlab"] == digests[TRANSFORMERS]}


def training_speed(root: Path, overrides: list[str]) -> dict:
    """Training tokens per second of the preset's model on its data (its timed steps), and the tokens in one
    epoch."""
    timing = time_training_steps(root, overrides, lambda task, batch: task.next_token_loss(batch)[0])
    tokens = sum(int((batch["labels"] != IGNORE).sum()) for batch in timing.timed_batches)
    per_batch = timing.timed_batches[0]["input_ids"].numel()
    return {"tokens_per_sec": round(tokens / timing.seconds, 1),
            "tokens_per_epoch": timing.steps_per_epoch * per_batch}


SCALE_COPIES = (1, 20)  # Tiny Shakespeare repeated this many times
QUICK_SCALE_COPIES = (1, 2)  # --quick: the machinery only
SCALE_MEMORY_RATIO = 1.2  # target: peak memory at the largest corpus within this many times the smallest's
# the same work at every size: 2 epochs of 100 batches of 64 blocks, 10 batches of validation and of test
SCALE_WORK = ["dataset.max_train_samples=6400", "dataset.max_eval_samples=640", "trainer.max_epochs=2"]
QUICK_SCALE_WORK = ["dataset.max_train_samples=640", "dataset.max_eval_samples=64", "trainer.max_epochs=2"]
SCALE_MINUTES = 10.0  # trainer.max_time of each case (a safety net: SCALE_WORK takes far less)
SCALE_HISTORIES = ("train/epoch_sec", "train/tokens_per_sec")


def corpus_scaling(root: Path, quick: bool = False) -> dict:
    """textgen_rnn on Tiny Shakespeare repeated SCALE_COPIES times (a copy under
    outputs/bench/corpus_scaling/), each in a process of its own that builds the corpus's token-id cache first
    (a fresh one, in that folder) and then trains the same number of blocks (SCALE_WORK): the process's peak
    resident memory and the training tokens per second of each; the target is the largest corpus's peak memory
    within SCALE_MEMORY_RATIO of the smallest's."""
    source = ensure_files("tinyshakespeare", root / "data" / "tinyshakespeare", ["input.txt"]) / "input.txt"
    text = source.read_bytes()
    sizes = QUICK_SCALE_COPIES if quick else SCALE_COPIES
    work = QUICK_SCALE_WORK if quick else SCALE_WORK
    cases = {}
    for copies in sizes:
        folder = root / "outputs" / "bench" / "corpus_scaling" / f"x{copies}"
        shutil.rmtree(folder, ignore_errors=True)  # the cache too: each case builds its own
        folder.mkdir(parents=True)
        with open(folder / "input.txt", "wb") as corpus:
            for _ in range(copies):
                corpus.write(text)
        histories = [arg for key in SCALE_HISTORIES for arg in ("--history", key)]
        record = in_process(root, f"lm-corpus-scaling-x{copies}", "seqlab.benchmarks.preset_process", [
            "--name", f"textgen_rnn-x{copies}", "--minutes", str(SCALE_MINUTES),
            *histories, "experiment=textgen_rnn", "trainer=cpu", "callbacks.rich_progress_bar=null",
            f"dataset.data_dir={folder}", f"dataset.cache_dir={folder / 'cache'}", *work,
        ])
        history = record.get("history", {})
        cases[f"x{copies}"] = {
            "copies": copies, "corpus_bytes": copies * len(text), "status": record.get("status"),
            "peak_rss_mib": record.get("peak_rss_mib"),
            "tokens_per_sec": tokens_per_sec(history.get("train/epoch_sec", []),
                                             history.get("train/tokens_per_sec", [])),
            "best_val_loss": record.get("value"), "wall_seconds": record.get("wall_seconds"),
            "log": record["log"],
        }
    smallest, largest = cases[f"x{sizes[0]}"], cases[f"x{sizes[-1]}"]
    ratio = (round(largest["peak_rss_mib"] / smallest["peak_rss_mib"], 3)
             if largest["peak_rss_mib"] and smallest["peak_rss_mib"] else None)
    return {"preset": "textgen_rnn", "work": work, "cases": cases, "peak_rss_ratio": ratio,
            "target": f"peak memory at x{sizes[-1]} within {SCALE_MEMORY_RATIO}x of x{sizes[0]}",
            "met": ratio is not None and ratio <= SCALE_MEMORY_RATIO}
