"""Self-attention from scratch and pretraining: the Transformer classifier, what MLM pretraining buys a small
BERT, and the Transformer translator beside the LSTM with attention, in one benchmark run.

    python pipelines/benchmark.py self_attention [--minutes M] [--quick]
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path

from seqlab.benchmarks.runner import (
    THREADS,
    final_metric,
    held_out,
    output_dir,
    quick_overrides,
    torch_threads,
    train_preset,
    write_report,
)
from seqlab.benchmarks.step_timing import time_training_steps
from seqlab.errors import SeqlabError
from seqlab.reports.transfer_report import TransferReportOptions, transfer_report_from_options
from seqlab.tracking.run_lookup import get_run, sweep_trials
from seqlab.tracking.sweep import OBJECTIVE

# SST-2, from scratch: test/acc on the held-out rows judged (dev, which chose the checkpoint, beside). The
# preset's own epochs fit the budget on 2 CPU cores (about 5 minutes); a schedule stretched to fill all 10
# ended lower on dev (it overfit after its second epoch, and early stopping ended it)
SENTIMENT, SENTIMENT_TARGET, SENTIMENT_MINUTES = "sentiment_transformer", 0.83, 10.0
# the small BERT fine-tuned from its own MLM pretraining and from scratch (conf/family/), over SEEDS, each run
# with the transfer report's budget (experiment=transfer_report: trainer.max_time); the pretraining reported
# apart. Target: the mean test/acc of the pretrained family ahead by PRETRAINING_GAIN at least
PRETRAINED, SCRATCH = "bert_pretrained", "bert_scratch"
SEEDS, QUICK_SEEDS = (1, 2, 3), (1,)
PRETRAINING_GAIN = 0.02
# Multi30k de->en, each translator within the same budget: test BLEU (beam 5) of the Transformer at least the
# LSTM with attention's. Both schedules span their trainer.max_epochs, so the epochs are fitted to the budget
TRANSLATORS = ("translate_attention", "translate_transformer")
TRANSLATION_MINUTES = 20.0
DE_EN = ["dataset.src_lang=de", "dataset.tgt_lang=en"]
# share of the budget the epochs are sized to; the rest is for each epoch's greedy decoding of the validation
# (a few seconds: both decoders keep their state between steps) and the test's beam search
TRANSLATION_FILL = 0.9
HISTORIES = ("train/epoch_sec", "val/bleu")
QUICK_EPOCHS = 1  # --quick: the translators' epochs (debug=smoke's)


def run(root: Path, minutes: float | None, quick: bool = False) -> Path:
    """Each case in turn on 2 threads; --minutes replaces both training budgets (SENTIMENT_MINUTES and
    TRANSLATION_MINUTES) but not the transfer report's own."""
    with torch_threads(THREADS):
        sentiment = sentiment_case(root, minutes or SENTIMENT_MINUTES, quick)
        pretraining = pretraining_case(root, quick)
        translation = translation_case(root, minutes or TRANSLATION_MINUTES, quick)
    presets = translation["presets"]
    bleu_lead = presets["translate_transformer"]["test_bleu"] - presets["translate_attention"]["test_bleu"]
    targets = {
        "sentiment_transformer test acc": {"target": SENTIMENT_TARGET, "value": sentiment["test_acc"],
                                           "met": sentiment["met"]},
        "bert pretrained minus scratch, mean test acc": {"target": PRETRAINING_GAIN,
                                                         "value": pretraining["gain_test_acc"],
                                                         "met": pretraining["met"]},
        "de-en transformer minus attention, test bleu": {"target": 0.0, "value": round(bleu_lead, 2),
                                                         "met": translation["met"]},
    }
    return write_report(root, "self_attention", {
        "threads": THREADS, "sentiment_transformer": sentiment, "pretraining": pretraining,
        "translation": translation, "targets": targets,
    }, quick)


def sentiment_case(root: Path, minutes: float, quick: bool) -> dict:
    overrides = [f"experiment={SENTIMENT}", "callbacks.rich_progress_bar=null", *quick_overrides(quick)]
    result = train_preset(root, SENTIMENT, overrides, minutes, ("val/acc", "train/epoch_sec"))
    return {**result, "budget_minutes": minutes, **held_out(SENTIMENT, result, "test/acc", SENTIMENT_TARGET)}


def pretraining_case(root: Path, quick: bool) -> dict:
    """The transfer report over the two BERT families (one pretraining, then a multirun over the seeds)."""
    options = TransferReportOptions(
        families=[PRETRAINED, SCRATCH], seeds=list(QUICK_SEEDS if quick else SEEDS),
        pretrain_overrides=quick_overrides(quick), overrides=quick_overrides(quick),
        tracking_uri=os.environ.get("MLFLOW_TRACKING_URI", f"sqlite:///{root.resolve()}/outputs/mlflow.db"),
        output_dir=str(output_dir(root, quick) / "self_attention"))
    report = transfer_report_from_options(options)
    pretraining = get_run(options.tracking_uri, report["pretraining_run"])
    return {"pretraining_run": report["pretraining_run"], "sweep": report["sweep"],
            "pretraining_seconds": round((pretraining.info.end_time - pretraining.info.start_time) / 1000, 1),
            "pretraining_val_loss": pretraining.data.metrics.get("val/loss"),
            **pretraining_gain(sweep_trials(options.tracking_uri, report["sweep"]), options.seeds)}


def pretraining_gain(trials: list[dict], seeds: list[int]) -> dict:
    """Per family, test/acc and best dev accuracy for each seed and their means; the pretrained family's lead
    in mean test/acc, judged against PRETRAINING_GAIN (dev's lead beside). A family or seed without its run or
    figure is an error naming it."""
    families = {}
    for family in (PRETRAINED, SCRATCH):
        runs = {int(t["swept"].get("seed", -1)): t for t in trials if t["tags"].get("family") == family}
        missing = [seed for seed in seeds if seed not in runs]
        if missing:
            raise SeqlabError(f"pretraining: family {family} has no run for seed(s) {missing}; see the "
                              "sweep's runs")
        tests = [final_metric(f"pretraining {family} seed {s}", runs[s], "test/acc") for s in seeds]
        devs = [final_metric(f"pretraining {family} seed {s}", runs[s], OBJECTIVE) for s in seeds]
        families[family] = {"seeds": list(seeds), "test_acc": [round(v, 4) for v in tests],
                            "best_val_acc": [round(v, 4) for v in devs],
                            "mean_test_acc": round(statistics.fmean(tests), 4),
                            "mean_best_val_acc": round(statistics.fmean(devs), 4)}
    gain = families[PRETRAINED]["mean_test_acc"] - families[SCRATCH]["mean_test_acc"]
    dev_gain = families[PRETRAINED]["mean_best_val_acc"] - families[SCRATCH]["mean_best_val_acc"]
    return {"families": families, "gain_test_acc": round(gain, 4), "gain_best_val_acc": round(dev_gain, 4),
            "target": PRETRAINING_GAIN, "met": gain >= PRETRAINING_GAIN}


def translation_case(root: Path, minutes: float, quick: bool) -> dict:
    """--quick: QUICK_EPOCHS of the smoke slices each, not fitted."""
    presets = {}
    for preset in TRANSLATORS:
        overrides = [f"experiment={preset}", "trainer=cpu", *DE_EN, "callbacks.rich_progress_bar=null",
                     *quick_overrides(quick)]
        epochs = QUICK_EPOCHS if quick else fitted_epochs(root, overrides, minutes)
        result = train_preset(root, f"{preset}-de-en", [*overrides, f"trainer.max_epochs={epochs}"], minutes,
                              HISTORIES)
        presets[preset] = {"run_id": result.get("run_id"), "epochs": epochs,
                           "test_bleu": round(final_metric(preset, result, "test/bleu"), 2),
                           "best_val_bleu": round(result["value"], 2), "wall_seconds": result["wall_seconds"],
                           "overrides": result["overrides"]}
    transformer, lstm = (presets[p]["test_bleu"] for p in ("translate_transformer", "translate_attention"))
    return {"direction": "de-en", "budget_minutes": minutes, "presets": presets,
            "target": "translate_transformer test BLEU >= translate_attention's, same budget",
            "met": transformer >= lstm}


def fitted_epochs(root: Path, overrides: list[str], minutes: float) -> int:
    """The epochs that fill TRANSLATION_FILL of `minutes` at this machine's speed: the preset's own net and
    loss, timed over a few training steps."""
    timing = time_training_steps(root, overrides,
                                 lambda task, batch: task.teacher_forced_loss(batch, task.label_smoothing)[0])
    return timing.epochs_within(minutes, TRANSLATION_FILL)
