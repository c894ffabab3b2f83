"""Multi30k translation benchmark: test BLEU of the attention and the plain encoder-decoder within a budget.

    python pipelines/benchmark.py translation [--minutes 45] [--quick]
"""

from __future__ import annotations

from pathlib import Path

from seqlab.benchmarks.runner import THREADS, quick_overrides, torch_threads, train_preset, write_report
from seqlab.benchmarks.side_by_side import Case, Side, run_case

DIRECTIONS = {"de-en": ("de", "en"), "en-fr": ("en", "fr")}
# the direction with targets, trained for the whole budget; the others are reported after at most
# UNTARGETED_MINUTES each
TARGETED = "de-en"
UNTARGETED_MINUTES = 20.0
PRESETS = ("translate_attention", "translate_seq2seq")
TARGET_BLEU = 30.0  # translate_attention, de->en, at least
TARGET_GAP = 8.0  # translate_attention - translate_seq2seq, de->en, at least, in the same benchmark run
# a public reproduction of the PyTorch seq2seq tutorial's GRU with attention, on this test set and
# direction
REFERENCE = {"pytorch_seq2seq_tutorial_gru_attention_de_en_bleu": 28.2}
HISTORIES = ("train/epoch_sec", "train/tokens_per_sec", "val/bleu")
SPEED_EPOCHS, SPEED_BATCHES = 2, 100  # each side-by-side training run
# side by side, no target: a constant learning rate (the plateau schedule steps on val/bleu, which the
# floor does not compute)
SIDE_BY_SIDE = ["experiment=translate_attention", "trainer=cpu", "dataset.src_lang=de", "dataset.tgt_lang=en",
                "model.scheduler=null", "callbacks.early_stopping=null", "callbacks.rich_progress_bar=null",
                f"trainer.max_epochs={SPEED_EPOCHS}", f"trainer.limit_train_batches={SPEED_BATCHES}",
                "model.val_max_sentences=64", "+trainer.limit_test_batches=1"]


def run(root: Path, minutes: float | None, quick: bool = False) -> Path:
    """test_2016_flickr BLEU (sacrebleu, detokenized, beam 5) of each preset in each direction, on the CPU
    with 2 threads, with training time, tokens per second and decoding speed (sentences per second, greedy and
    beam 5).

    Then, side by side, translate_attention de->en trained by seqlab and by the floor, a plain PyTorch loop
    over seqlab's own datamodule and net (peers/torch_loop.py), on the same batches in the same order for
    SPEED_EPOCHS epochs of at most SPEED_BATCHES batches, each in its own process, interleaved: their seconds
    per epoch, tokens per second, memory and start-up, and seqlab's ratios to the floor's."""
    with torch_threads(THREADS):
        return _run(root, minutes or 45.0, quick)


def _run(root: Path, minutes: float, quick: bool = False) -> Path:
    results: dict[str, dict] = {}
    budgets = {d: minutes if d == TARGETED else min(minutes, UNTARGETED_MINUTES) for d in DIRECTIONS}
    for direction, (src, tgt) in DIRECTIONS.items():
        results[direction] = {}
        for preset in PRESETS:
            overrides = [f"experiment={preset}", "trainer=cpu", f"dataset.src_lang={src}",
                         f"dataset.tgt_lang={tgt}", "callbacks.rich_progress_bar=null",
                         *quick_overrides(quick)]
            result = train_preset(root, f"{preset}-{direction}", overrides, budgets[direction], HISTORIES)
            results[direction][preset] = summarize(result)
    de_en = results[TARGETED]
    attention, plain = de_en["translate_attention"]["test_bleu"], de_en["translate_seq2seq"]["test_bleu"]
    targets = {
        "de-en attention bleu": {"target": TARGET_BLEU, "value": attention, "met": attention >= TARGET_BLEU},
        "de-en attention minus plain bleu": {"target": TARGET_GAP, "value": round(attention - plain, 2),
                                             "met": attention - plain >= TARGET_GAP},
    }
    overrides = [*SIDE_BY_SIDE, *quick_overrides(quick)]
    budget = ("--minutes", str(min(minutes, UNTARGETED_MINUTES)))
    case = Case("translate_attention_de_en", [
        Side("torch_loop", "seqlab.benchmarks.peers.torch_loop", (*budget, *overrides)),
        Side("seqlab", "seqlab.benchmarks.preset_process",
             ("--name", "translate_attention-side-by-side", *budget, "--quality", "test/loss", *overrides)),
    ])
    return write_report(root, "translation", {
        "dataset": "multi30k test_2016_flickr", "threads": THREADS, "budget_minutes": budgets,
        "metric": "sacrebleu corpus BLEU, detokenized, cased, 13a (beam 5, length penalty 0.6)",
        "results": results,
        "targets": targets, "reference": REFERENCE, "cases": {case.name: run_case(root, case)},
    }, quick)


def tokens_per_sec(epoch_seconds: list[float], speeds: list[float]) -> float | None:
    """All epochs' tokens over all their seconds: an epoch cut short by the time limit (a batch or two) counts
    for its few seconds, not as much as a whole one."""
    seconds = sum(epoch_seconds)
    if not speeds or seconds <= 0:
        return None
    return round(sum(t * s for t, s in zip(epoch_seconds, speeds, strict=True)) / seconds, 1)


def summarize(result: dict) -> dict:
    metrics, history = result.get("metrics", {}), result.get("history", {})
    epoch_seconds = history.get("train/epoch_sec", [])
    speeds = history.get("train/tokens_per_sec", [])

    def metric(key: str) -> float | None:
        return round(metrics[key], 2) if key in metrics else None

    return {
        "run_id": result.get("run_id"),
        "status": result.get("status"),
        "test_bleu": metric("test/bleu"),
        "test_chrf": metric("test/chrf"),
        "test_bleu_greedy": metric("test/bleu_greedy"),
        "best_val_bleu": round(result["value"], 2),
        "epochs": len(epoch_seconds),
        "training_seconds": round(sum(epoch_seconds), 1),
        "wall_seconds": result["wall_seconds"],
        "target_tokens_per_sec": tokens_per_sec(epoch_seconds, speeds),
        "greedy_sentences_per_sec": metric("test/sent_per_sec_greedy"),
        "beam5_sentences_per_sec": metric("test/sent_per_sec_beam"),
        "val_bleu_per_epoch": [round(v, 2) for v in history.get("val/bleu", [])],
        "overrides": result["overrides"],
    }
