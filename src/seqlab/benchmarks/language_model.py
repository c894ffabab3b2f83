"""Tiny Shakespeare benchmark: test loss (nats per character, on the last 5% of the text; the best validation loss,
which chose the checkpoint, is reported beside it) of the char-level LSTM (textgen_rnn) and of the small GPT-2
trained from scratch (gpt2_scratch), each within a training budget on 2 CPU threads; then the generation speed of
the trained GPT-2 with its key-value cache against the same model recomputing the whole prefix at every step (same
prompt; a speed-up only where both gave the same greedy tokens). Last, corpora larger than memory (corpus_scaling):
the char-level LSTM on Tiny Shakespeare repeated 1x and 20x, peak memory and training tokens per second of each.

Each preset's learning rate decays over the whole run (trainer.max_epochs), so the number of epochs is fitted to
the budget first: a few timed training steps give this machine's tokens per second, and the run gets the epochs
that fill FILL of the budget (trainer.max_time still stops it at the budget).

    python pipelines/benchmark.py language_model [--minutes 15]
"""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path

import torch

from seqlab.benchmarks.finetune import in_process
from seqlab.benchmarks.runner import THREADS, held_out, torch_threads, train_preset, write_report
from seqlab.benchmarks.translation import tokens_per_sec
from seqlab.data.download import ensure_files

TARGETS = {"textgen_rnn": 1.60, "gpt2_scratch": 1.55}  # test loss, nats per character
FILL = 0.85  # share of the budget the epochs are sized to (validation, samples and start-up take the rest)
TIMED_STEPS = 8
SPEED_PROMPT = "ROMEO:"
SPEED_REPEATS = 3

# For scale (nanoGPT's README, shakespeare_char): val loss after a few minutes of training.
NANOGPT = {
    "baby_gpt_laptop_cpu_3min": {"val_loss": 1.88, "n_layer": 4, "n_embd": 128, "block_size": 64, "batch_size": 12,
                                 "iters": 2000},
    "gpt_6x384_a100_3min": {"val_loss": 1.4697, "n_layer": 6, "n_embd": 384, "block_size": 256},
}


def run(root: Path, minutes: float | None) -> Path:
    with torch_threads(THREADS):
        return _run(root, minutes or 15.0)


def _run(root: Path, minutes: float) -> Path:
    presets = {}
    for preset, target in TARGETS.items():
        overrides = [f"experiment={preset}", "trainer=cpu", "callbacks.rich_progress_bar=null"]
        speed = training_speed(root, overrides)
        epochs = max(1, math.floor(minutes * 60 * FILL * speed["tokens_per_sec"] / speed["tokens_per_epoch"]))
        overrides.append(f"trainer.max_epochs={epochs}")
        result = train_preset(root, preset, overrides, minutes, ("val/loss", "train/epoch_sec", "train/tokens_per_sec"))
        presets[preset] = {**result, **held_out(preset, result, "test/loss", target), "calibration": speed,
                           "epochs": epochs}
    generation = generation_speed(Path(presets["gpt2_scratch"]["run_dir"]) / "model")
    return write_report(root, "language_model", {
        "dataset": "tinyshakespeare (val, char-level)", "threads": THREADS, "budget_minutes": minutes,
        "presets": presets, "generation": generation, "nanogpt_reference": NANOGPT,
        "corpus_scaling": corpus_scaling(root),
    })


def training_speed(root: Path, overrides: list[str]) -> dict:
    """Training tokens per second of the preset's model on its data (a few timed steps after one warm-up step),
    and the tokens in one epoch."""
    from seqlab.compose import compose_train_config
    from seqlab.instantiate import instantiate

    cfg = compose_train_config(overrides, root, root / "outputs" / "bench" / "runs" / "calibration")
    datamodule = instantiate(cfg.dataset)
    datamodule.prepare_data()
    datamodule.setup("fit")
    net = instantiate(cfg.model.net, **datamodule.model_kwargs())
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-4)
    batches = iter(datamodule.train_dataloader())
    seconds = tokens = 0
    for step in range(TIMED_STEPS + 1):
        batch = next(batches)
        start = time.perf_counter()
        logits = net(batch["input_ids"])
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), batch["labels"].flatten(), ignore_index=-100)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step:  # the first step warms caches up
            seconds += time.perf_counter() - start
            tokens += int((batch["labels"] != -100).sum())
    per_batch = datamodule.batch_size * datamodule.block_size
    return {"tokens_per_sec": round(tokens / seconds, 1),
            "tokens_per_epoch": len(datamodule.train_dataloader()) * per_batch}


def generation_speed(model_dir: Path, max_new_tokens: int | None = None) -> dict:
    """Tokens per second of greedy generation with and without the key-value cache (best of a few runs)."""
    from seqlab.inference.generation_options import GenerationOptions
    from seqlab.inference.text_generator import TextGenerator

    generator = TextGenerator.from_directory(model_dir)
    prompt_length = len(generator.tokenizer.encode(SPEED_PROMPT))
    new = max_new_tokens or min(200, generator.context_size - prompt_length)
    results, tokens = {}, {}
    for name, use_cache in (("kv_cache", True), ("no_cache", False)):
        options = GenerationOptions(max_new_tokens=new, min_new_tokens=new, do_sample=False, use_cache=use_cache)
        best = float("inf")
        for _ in range(SPEED_REPEATS):
            start = time.perf_counter()
            _, [tokens[name]] = generator.generate_ids(SPEED_PROMPT, options)
            best = min(best, time.perf_counter() - start)
        results[name] = {"seconds": round(best, 3), "tokens_per_sec": round(len(tokens[name]) / best, 1)}
    same = tokens["kv_cache"] == tokens["no_cache"]
    return {"prompt": SPEED_PROMPT, "new_tokens": new, "context": generator.context_size, **results,
            "speedup": cache_speedup(results, same), "same_tokens": same}


def cache_speedup(results: dict[str, dict], same_tokens: bool) -> float | None:
    """Tokens per second with the key-value cache over without; none where the two gave different tokens (a
    cache that changes the output is not faster at the same work)."""
    if not same_tokens:
        return None
    return round(results["kv_cache"]["tokens_per_sec"] / results["no_cache"]["tokens_per_sec"], 2)


SCALE_COPIES = (1, 20)  # Tiny Shakespeare repeated this many times
SCALE_MEMORY_RATIO = 1.2  # target: peak memory at the largest corpus within this many times the smallest's
# the same work at every size: 2 epochs of 100 batches of 64 blocks, 10 batches of validation and of test
SCALE_WORK = ["dataset.max_train_samples=6400", "dataset.max_eval_samples=640", "trainer.max_epochs=2"]
SCALE_MINUTES = 10.0  # trainer.max_time of each case (a safety net: SCALE_WORK takes far less)
SCALE_HISTORIES = ("train/epoch_sec", "train/tokens_per_sec")


def corpus_scaling(root: Path) -> dict:
    """textgen_rnn on Tiny Shakespeare repeated SCALE_COPIES times (a copy under outputs/bench/corpus_scaling/), each
    in a process of its own that builds the corpus's token-id cache first (a fresh one, in that folder) and then
    trains the same number of blocks (SCALE_WORK): the process's peak resident memory and the training tokens per
    second of each; the target is the largest corpus's peak memory within SCALE_MEMORY_RATIO of the smallest's."""
    source = ensure_files("tinyshakespeare", root / "data" / "tinyshakespeare", ["input.txt"]) / "input.txt"
    text = source.read_bytes()
    cases = {}
    for copies in SCALE_COPIES:
        folder = root / "outputs" / "bench" / "corpus_scaling" / f"x{copies}"
        shutil.rmtree(folder, ignore_errors=True)  # the cache too: each case builds its own
        folder.mkdir(parents=True)
        with open(folder / "input.txt", "wb") as corpus:
            for _ in range(copies):
                corpus.write(text)
        histories = [arg for key in SCALE_HISTORIES for arg in ("--history", key)]
        record = in_process(root, f"x{copies}", [
            "seqlab.benchmarks.preset_process", "--name", f"textgen_rnn-x{copies}", "--minutes", str(SCALE_MINUTES),
            *histories, "experiment=textgen_rnn", "trainer=cpu", "callbacks.rich_progress_bar=null",
            f"dataset.data_dir={folder}", f"dataset.cache_dir={folder / 'cache'}", *SCALE_WORK,
        ], suite="lm-corpus-scaling")
        history = record.get("history", {})
        cases[f"x{copies}"] = {
            "copies": copies, "corpus_bytes": copies * len(text), "status": record.get("status"),
            "peak_rss_mib": record.get("peak_rss_mib"),
            "tokens_per_sec": tokens_per_sec(history.get("train/epoch_sec", []),
                                             history.get("train/tokens_per_sec", [])),
            "best_val_loss": record.get("value"), "wall_seconds": record.get("wall_seconds"), "log": record["log"],
        }
    smallest, largest = cases[f"x{SCALE_COPIES[0]}"], cases[f"x{SCALE_COPIES[-1]}"]
    ratio = (round(largest["peak_rss_mib"] / smallest["peak_rss_mib"], 3)
             if largest["peak_rss_mib"] and smallest["peak_rss_mib"] else None)
    return {"preset": "textgen_rnn", "work": SCALE_WORK, "cases": cases, "peak_rss_ratio": ratio,
            "target": f"peak memory at x{SCALE_COPIES[-1]} within {SCALE_MEMORY_RATIO}x of x{SCALE_COPIES[0]}",
            "met": ratio is not None and ratio <= SCALE_MEMORY_RATIO}
