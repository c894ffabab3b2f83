"""The cost of periodic checkpointing: seconds per checkpoint and its share of training time, per preset.

    python pipelines/benchmark.py checkpointing [--quick]
"""

from __future__ import annotations

import time
from pathlib import Path

from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import OmegaConf

from seqlab.benchmarks.runner import quick_overrides, train_preset, write_report
from seqlab.config.checks import CONF_DIR
from seqlab.errors import SeqlabError

PRESETS = ["sentiment_lstm", "gpt2_scratch"]
STEPS, EVERY = 200, 50  # one epoch of STEPS steps, a periodic checkpoint every EVERY steps
QUICK_STEPS, QUICK_EVERY = 4, 2  # debug=smoke's 256 rows are 4 batches of SST-2


def run(root: Path, minutes: float | None, quick: bool = False) -> Path:
    """Trains each preset for STEPS steps with a periodic checkpoint every EVERY steps and times each
    periodic save (ModelCheckpoint writing the whole training state: weights, optimizer, loops, RNG and data
    position)."""
    saves: list[tuple[int, float]] = []  # (optimizer steps done, seconds) of each periodic save
    original = ModelCheckpoint._save_checkpoint

    def timed(self, trainer, filepath):
        start = time.perf_counter()
        original(self, trainer, filepath)
        if Path(filepath).name.startswith("step"):
            saves.append((trainer.global_step, time.perf_counter() - start))

    callbacks = OmegaConf.load(CONF_DIR / "callbacks" / "default.yaml")
    default_every = callbacks.periodic_checkpoint.every_n_train_steps
    ModelCheckpoint._save_checkpoint = timed
    results = {}
    steps, every = (QUICK_STEPS, QUICK_EVERY) if quick else (STEPS, EVERY)
    try:
        for preset in PRESETS:
            saves.clear()
            overrides = [f"experiment={preset}", *quick_overrides(quick), "trainer.max_epochs=1",
                         f"trainer.limit_train_batches={steps}",
                         f"callbacks.periodic_checkpoint.every_n_train_steps={every}",
                         "callbacks.rich_progress_bar=null"]
            result = train_preset(root, f"checkpointing-{preset}", overrides, minutes or 10.0,
                                  ("train/epoch_sec",))
            epoch_sec = result.get("history", {}).get("train/epoch_sec", [])
            results[preset] = summarize(preset, saves, epoch_sec, default_every, steps, every)
            checkpoints = Path(result["run_dir"], "checkpoints").glob("step*.ckpt")
            checkpoint = max(checkpoints, key=lambda p: p.stat().st_mtime)
            results[preset]["checkpoint_mb"] = round(checkpoint.stat().st_size / 2**20, 1)
    finally:
        ModelCheckpoint._save_checkpoint = original
    return write_report(root, "checkpointing", {"steps": steps, "presets": results}, quick)


def summarize(case: str, saves: list[tuple[int, float]], epoch_sec: list[float], default_every: int,
              steps: int = STEPS, every: int = EVERY) -> dict:
    """Seconds per checkpoint and its share of the training time, from the periodic saves ((step, seconds)
    each, every `every` of `steps` steps) and the one epoch's train/epoch_sec.

    share = seconds per checkpoint / (every x seconds per step): also the share of an epoch spent
    checkpointing at that interval."""
    if not saves or saves[-1][0] != steps or len(epoch_sec) != 1:
        raise SeqlabError(f"{case} did not train its one epoch of {steps} steps (periodic saves at steps "
                          f"{[step for step, _ in saves]}, {len(epoch_sec)} epochs logged); give it more "
                          "time with --minutes")
    # train/epoch_sec ends with the last training step: it holds the saves made before it, not the one made
    # after it (at the last step)
    inside = sum(seconds for step, seconds in saves if step < steps)
    step_sec = (epoch_sec[0] - inside) / steps
    per_checkpoint = sum(seconds for _, seconds in saves) / len(saves)
    return {
        "checkpoints": len(saves),
        "seconds_per_checkpoint": round(per_checkpoint, 3),
        "seconds_per_step": round(step_sec, 4),
        "every_n_steps": every,
        "share_of_training": round(per_checkpoint / (every * step_sec), 4),
        f"share_at_default_interval_{default_every}": round(per_checkpoint / (default_every * step_sec), 4),
    }
