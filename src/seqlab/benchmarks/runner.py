"""Shared steps of every benchmark: compose a preset, train it under a time limit, time and record it."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from itertools import pairwise
from pathlib import Path

import torch

from seqlab.config.compose import compose_train_config
from seqlab.config.metric_direction import direction
from seqlab.errors import SeqlabError

# seqlab's training and tracking code is imported where used: the peers import THREADS and torch_threads from
# here, and their processes (whose start-up and memory are measured) load none of it

QUICK = ["debug=smoke"]  # --quick: tiny slices of every split, the CPU, plain logs (conf/debug/smoke.yaml)


def quick_overrides(quick: bool) -> list[str]:
    """What --quick adds to every preset a suite trains: the same code paths on a tiny budget."""
    return list(QUICK) if quick else []


def output_dir(root: Path, quick: bool = False) -> Path:
    """Where the suites' reports and the summary go: outputs/bench/, and outputs/bench/quick/ for --quick
    (whose figures check the machinery, and never replace real ones)."""
    return root / "outputs" / "bench" / ("quick" if quick else "")


def runs_dir(root: Path) -> Path:
    """The benchmark's run folders, logs and files handed to peers."""
    return root / "outputs" / "bench" / "runs"


def train_preset(
    root: Path, name: str, overrides: list[str], minutes: float, histories: tuple[str, ...] = ()
) -> dict:
    """Trains with `overrides` (tracked in MLflow like any run) for at most `minutes`; returns the figures:
    the optimized metric's best value, wall time, the run's final metrics and the `histories` asked for (with
    the steps each value was logged at)."""
    from seqlab.commands.train import train
    from seqlab.tracking.run_lookup import run_record

    limit = f"00:00:{int(minutes):02d}:{int(minutes % 1 * 60):02d}"
    run_dir = runs_dir(root) / f"{name}-{datetime.now():%Y%m%d-%H%M%S-%f}"
    cfg = compose_train_config([*overrides, f"trainer.max_time={limit}"], root, run_dir)
    start = time.perf_counter()
    value = train(cfg)
    seconds = round(time.perf_counter() - start, 1)
    record = {}
    if "tracking_uri" in cfg.logger:
        record = run_record(cfg.logger.tracking_uri, str(run_dir), histories)
    return {"preset": name, "overrides": overrides, "optimized_metric": cfg.optimized_metric, "value": value,
            "wall_seconds": seconds, "run_dir": str(run_dir), **record}


def final_metric(case: str, result: dict, key: str) -> float:
    """The last `key` the case's run logged; a run that was not found, or that did not log it, is an error
    naming the case (never a 0 that would read as measured)."""
    value = result.get("metrics", {}).get(key)
    if value is None:
        found = f"its run {result['run_id']}" if "run_id" in result else "no MLflow run found"
        raise SeqlabError(f"{case} has no {key} ({found} for {result.get('run_dir')}); see the run's log in "
                          "that folder")
    return value


def held_out(case: str, result: dict, key: str, target: float) -> dict:
    """The case judged on its held-out test figure `key` against `target` (in the key's direction), with the
    best validation value beside it: the validation split chose the checkpoint and stopped training, so it is
    not a fair score."""
    test = final_metric(case, result, key)
    return {
        f"best_{result['optimized_metric'].replace('/', '_')}": round(result["value"], 4),
        key.replace("/", "_"): round(test, 4),
        "target": target,
        "met": test >= target if direction(key) == "max" else test <= target,
    }


def epoch_batches(steps: list[int]) -> list[int]:
    """Batches in each epoch, from the steps its once-an-epoch figures were logged at: Lightning logs them at
    the count of batches trained so far less one (the step of the epoch's last batch)."""
    return [after - before for before, after in pairwise([-1, *steps])]


THREADS = 2  # torch threads in the suites that pin them: the benchmark's machine has 2 CPU cores


@contextmanager
def torch_threads(count: int = THREADS) -> Iterator[None]:
    """torch's intra-op threads set to `count` inside, restored after: the benchmark's machine has 2 cores,
    and a suite run after this one (or a test) keeps its own setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def machine() -> dict:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "processor": platform.processor() or platform.machine(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def write_report(root: Path, suite: str, results: dict, quick: bool = False) -> Path:
    """outputs/bench/<suite>.json (outputs/bench/quick/ for --quick): the results with the date, commit,
    command and machine."""
    from seqlab.tracking.run_info import command_line, git_commit

    path = output_dir(root, quick) / f"{suite}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    report = {"suite": suite, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "git_commit": git_commit(str(root)), "command": command_line(), "machine": machine(),
              "quick": quick, **results}
    path.write_text(json.dumps(report, indent=2))
    return path
