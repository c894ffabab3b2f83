"""SST-2 fine-tuning benchmark: seqlab's sentiment_finetune beside transformers' Trainer doing the same.

    python pipelines/benchmark.py finetune [--minutes 15] [--quick]
    python -m seqlab.benchmarks.finetune [--minutes 15] [--speed-minutes 2] [OVERRIDE ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from datetime import datetime
from pathlib import Path

import torch
from hydra.errors import HydraException
from omegaconf import OmegaConf

from seqlab.benchmarks.runner import THREADS, quick_overrides, runs_dir, write_report
from seqlab.benchmarks.side_by_side import Side, in_process, interleave, median_figures, ratios
from seqlab.benchmarks.translation import tokens_per_sec as pooled_rate
from seqlab.config.compose import compose_train_config
from seqlab.errors import SeqlabError

PRESET = "sentiment_finetune"  # the packaged MiniLM encoder
# the targets, each at least, the ratio and the gap in the same benchmark run
TARGET_DEV_ACC = 0.90  # seqlab's SST-2 dev accuracy
TARGET_SPEED_RATIO = 1.0  # seqlab's training examples per second over the Trainer's
TARGET_DEV_GAP = 0.0  # seqlab's dev accuracy minus the Trainer's
QUALITY_MINUTES = 15.0  # training budget of each side's quality run
SPEED_MINUTES = 2.0  # training budget of each speed run
SPEED_ROUNDS = 2  # Trainer then seqlab, this many times
HISTORIES = ("train/epoch_sec", "train/examples_per_sec", "val/acc")
# transformers' Trainer with the same model, tokenizer, max length, rows, batch size, learning rate, weight
# decay, warm-up then linear decay, epochs and budget
PEER = "seqlab.benchmarks.peers.hf_trainer_classification"

# the peer's options, from the preset's config: option -> the keys it may sit under, first found wins
SHARED = {
    "--pretrained": ("model.net.pretrained",),
    "--batch-size": ("dataset.batch_size",),
    "--eval-batch-size": ("dataset.eval_batch_size",),
    "--lr": ("model.optimizer.lr",),
    "--weight-decay": ("model.optimizer.weight_decay",),
    "--warmup-steps": ("model.scheduler.num_warmup_steps",),
    "--epochs": ("trainer.max_epochs",),
    "--max-length": ("dataset.max_length", "dataset.tokenizer.max_length"),
    "--seed": ("seed",),
}
OPTIONAL = {  # the peer keeps its default (AdamW's own, no clipping) where the preset sets none
    "--adam-betas": ("model.optimizer.betas",),
    "--adam-epsilon": ("model.optimizer.eps",),
    "--max-grad-norm": ("trainer.gradient_clip_val",),
    "--gradient-accumulation-steps": ("trainer.accumulate_grad_batches",),
}
# which rows: handed to the peer, whose seqlab datamodule reads the same files and carves the same test rows
DATASET_KEYS = ("data_dir", "train_file", "val_file", "test_file", "test_fraction", "split_seed",
                "max_train_samples", "max_eval_samples")
LINEAR_SCHEDULE = "transformers.get_linear_schedule_with_warmup"
PRECISIONS = {"bf16-mixed": "bf16", "bf16-true": "bf16", "bf16": "bf16", "16-mixed": "fp16", "16": "fp16"}


# -- arithmetic ----------------------------------------------------------------------------------------------
def figure(case: str, name: str, value: float | None) -> float:
    """A figure a target needs; one a run did not give is an error naming the run and the figure."""
    if value is None:
        raise SeqlabError(f"{case} gave no {name}; see its run (log and MLflow) for why")
    return float(value)


def median_rate(case: str, rates: list[float | None]) -> float:
    """The median examples per second of a side's speed runs; each run must have given one."""
    if not rates:
        raise SeqlabError(f"{case}: no speed runs")
    return statistics.median(figure(f"{case} run {i + 1}", "examples per second", r)
                             for i, r in enumerate(rates))


def speed_ratio(seqlab_rate: float, trainer_rate: float) -> float:
    if trainer_rate <= 0:
        raise SeqlabError(f"the Trainer's examples per second is {trainer_rate}; a ratio needs a positive "
                          "one")
    return seqlab_rate / trainer_rate


def target(value: float, at_least: float) -> dict:
    return {"target": at_least, "value": round(value, 4), "met": value >= at_least}


def targets(seqlab: dict, trainer: dict, seqlab_rate: float, trainer_rate: float) -> dict:
    """The three targets from the quality runs' dev accuracies and the speed runs' median rates."""
    seqlab_dev = figure("seqlab quality run", "dev accuracy", seqlab.get("dev_acc"))
    trainer_dev = figure("Trainer quality run", "dev accuracy", trainer.get("dev_acc"))
    return {
        "seqlab sst2 dev accuracy": target(seqlab_dev, TARGET_DEV_ACC),
        "seqlab over Trainer training examples per second": target(speed_ratio(seqlab_rate, trainer_rate),
                                                                   TARGET_SPEED_RATIO),
        "seqlab minus Trainer dev accuracy": target(seqlab_dev - trainer_dev, TARGET_DEV_GAP),
    }


def as_case(quality: dict, speed: dict[str, list[dict]]) -> dict:
    """The two sides in side_by_side's shape, for the summary: each side's speed figures (the median over its
    speed runs) and its quality run's dev and test accuracy, and seqlab's ratios to the Trainer's."""
    sides = {}
    for name in ("trainer", "seqlab"):
        keys = ("examples_per_sec", "peak_rss_mib", "first_step_sec")
        figures = median_figures([{k: run.get(k) for k in keys} for run in speed[name]])
        found = quality[name]
        sides[name] = {**figures, "best_val_acc": found.get("dev_acc"), "test_acc": found.get("test_acc")}
    return {"sides": sides, "ratios": {"trainer": ratios(sides["seqlab"], sides["trainer"])}}


# -- the preset's settings, for the peer ---------------------------------------------------------------------
def config_value(cfg, option: str, keys: tuple[str, ...], required: bool):
    for key in keys:
        value = OmegaConf.select(cfg, key, default=None)
        if value is not None:
            return OmegaConf.to_container(value) if OmegaConf.is_config(value) else value
    if required:
        raise SeqlabError(f"experiment={PRESET} sets none of {', '.join(keys)}, which the Trainer peer takes "
                          f"as {option}; set it in the preset or pass it as an override")
    return None


def peer_options(cfg) -> list[str]:
    """The Trainer peer's command-line options that make it fine-tune as the composed preset `cfg` does."""
    scheduler = OmegaConf.select(cfg, "model.scheduler._target_", default=None)
    if scheduler != LINEAR_SCHEDULE:
        raise SeqlabError(f"experiment={PRESET} has model.scheduler {scheduler}; the Trainer peer warms up "
                          f"then decays linearly ({LINEAR_SCHEDULE}), so the two would not train alike")
    freeze = OmegaConf.select(cfg, "model.net.freeze", default=None)
    decay = OmegaConf.select(cfg, "model.net.layer_lr_decay", default=None)
    if freeze or decay not in (None, 1.0):
        raise SeqlabError(f"experiment={PRESET} freezes {list(freeze or [])} with layer_lr_decay={decay}; "
                          "the Trainer peer trains every weight at one rate: compare with "
                          "model.net.freeze=[] model.net.layer_lr_decay=1.0")
    options = []
    for table, required in ((SHARED, True), (OPTIONAL, False)):
        for option, keys in table.items():
            value = config_value(cfg, option, keys, required)
            if value is not None:
                options += [option, ",".join(map(str, value)) if isinstance(value, list) else str(value)]
    if on_cpu(str(cfg.trainer.accelerator)):
        options.append("--use-cpu")
    options += ["--precision", PRECISIONS.get(str(cfg.trainer.precision), "32"), "--threads", str(THREADS)]
    dataset = [f"dataset.{key}={'null' if cfg.dataset[key] is None else cfg.dataset[key]}"
               for key in DATASET_KEYS if key in cfg.dataset]
    return [*options, *dataset]


def on_cpu(accelerator: str) -> bool:
    """Whether Lightning runs `trainer.accelerator` on the CPU: cpu, or auto on a machine without CUDA."""
    return accelerator == "cpu" or (accelerator == "auto" and not torch.cuda.is_available())


def compose_preset(root: Path, overrides: list[str]):
    try:
        return compose_train_config([f"experiment={PRESET}", *overrides], root,
                                    root / "outputs" / "bench" / "runs")
    except HydraException as err:
        raise SeqlabError(f"cannot compose experiment={PRESET}: {str(err).splitlines()[0]}") from None


# -- the two sides, each in a process of its own (side_by_side.in_process) -----------------------------------
def first_step_sec(record: dict) -> float | None:
    """Seconds from the command to the end of the first optimizer step."""
    at = record.get("first_step_at")
    return round(at - record["launched_at"], 2) if at else None


def seqlab_side(root: Path, case: str, minutes: float, overrides: list[str]) -> dict:
    histories = [arg for key in HISTORIES for arg in ("--history", key)]
    record = in_process(root, f"finetune-{case}", "seqlab.benchmarks.preset_process",
                        ["--name", f"{PRESET}-{case}", "--minutes", str(minutes), *histories,
                         f"experiment={PRESET}", "callbacks.rich_progress_bar=null", *overrides])
    history, metrics = record.get("history", {}), record.get("metrics", {})
    return {
        "run_id": record.get("run_id"),
        "status": record.get("status"),
        "dev_acc": record.get("value"),
        "test_acc": metrics.get("test/acc"),
        "dev_acc_per_epoch": history.get("val/acc", []),
        "examples_per_sec": pooled_rate(history.get("train/epoch_sec", []),
                                        history.get("train/examples_per_sec", [])),
        "training_seconds": round(sum(history.get("train/epoch_sec", [])), 2),
        "epochs_run": len(history.get("train/epoch_sec", [])),
        "wall_seconds": record.get("wall_seconds"),
        "peak_rss_mib": record.get("peak_rss_mib"),
        "first_step_sec": first_step_sec(record),
        "run_dir": record.get("run_dir"),
        "log": record["log"],
    }


def trainer_side(root: Path, case: str, minutes: float, options: list[str]) -> dict:
    output_dir = runs_dir(root) / f"hf-trainer-{case}-{datetime.now():%Y%m%d-%H%M%S}"
    figures = in_process(root, f"finetune-{case}", PEER,
                         ["--minutes", str(minutes), "--output-dir", str(output_dir), *options])
    dropped = ("settings", "launched_at", "first_step_at")
    return {**{key: value for key, value in figures.items() if key not in dropped},
            "first_step_sec": first_step_sec(figures)}


def run(root: Path, minutes: float | None, speed_minutes: float | None = None, overrides: list[str] = (),
        quick: bool = False) -> Path:
    """Quality: one run of each side within the budget (QUALITY_MINUTES of training each by default); dev
    accuracy is the best epoch's, test accuracy that model's on the rows carved from train.

    Speed: short runs interleaved, Trainer, seqlab, Trainer, seqlab (SPEED_MINUTES each by default), the
    median training examples per second of each side, all their epochs pooled (examples over seconds); both
    sides time an epoch from its start to its last training step's loss, evaluation and saves at epoch ends
    outside.

    Each side runs in a process of its own, torch on THREADS threads."""
    minutes = minutes or QUALITY_MINUTES
    speed_minutes = min(speed_minutes or SPEED_MINUTES, minutes)
    overrides = [*overrides, *quick_overrides(quick)]
    options = peer_options(compose_preset(root, overrides))
    quality = {"trainer": trainer_side(root, "trainer-quality", minutes, options),
               "seqlab": seqlab_side(root, "seqlab-quality", minutes, overrides)}

    def speed_run(side: Side, i: int) -> dict:
        if side.name == "trainer":
            return trainer_side(root, f"trainer-speed{i}", speed_minutes, options)
        return seqlab_side(root, f"seqlab-speed{i}", speed_minutes, overrides)

    # interleaved, so that a slower spell of the machine hits both sides
    speed = interleave([Side("trainer", PEER), Side("seqlab", "seqlab.benchmarks.preset_process")],
                       SPEED_ROUNDS, speed_run)
    rates = {side: median_rate(f"{side} speed", [r["examples_per_sec"] for r in runs])
             for side, runs in speed.items()}
    return write_report(root, "finetune", {
        "dataset": "sst2: dev (the reported figure); test rows carved from train as seqlab's dataset config "
                   "does",
        "threads": THREADS,
        "budget_minutes": {"quality": minutes, "speed": speed_minutes},
        "peer": f"transformers.Trainer ({PEER})",
        "shared_settings": options,
        "overrides": overrides,
        "measure": "training examples per second: an epoch timed from its start to its last training step's "
                   "loss, all epochs of a run pooled; speed is the median over the speed runs of each side",
        "quality": quality,
        "speed": {"runs": speed, "median_examples_per_sec": {side: round(r, 2) for side, r in rates.items()}},
        "targets": targets(quality["seqlab"], quality["trainer"], rates["seqlab"], rates["trainer"]),
        "cases": {"sst2_finetune": as_case(quality, speed)},
    }, quick)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=QUALITY_MINUTES,
                        help="training budget of each quality run")
    parser.add_argument("--speed-minutes", type=float, default=SPEED_MINUTES,
                        help="training budget of each speed run")
    parser.add_argument("overrides", nargs="*", help=f"overrides of experiment={PRESET}, given to both sides")
    args = parser.parse_args()
    try:
        print(f"finetune: {run(Path.cwd(), args.minutes, args.speed_minutes, args.overrides)}")
    except SeqlabError as err:
        sys.exit(f"error: finetune: {err}")


if __name__ == "__main__":
    main()
