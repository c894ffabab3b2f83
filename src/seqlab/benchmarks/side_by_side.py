"""seqlab and its peers measured in the same benchmark run, each side of a case in a process of its own."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from seqlab.errors import SeqlabError

SEQLAB = "seqlab"
# each side runs this many times, interleaved (peer, seqlab, peer, seqlab, ...) so that a slower spell of a
# shared machine hits every side; each figure of a side is the median over its runs, and the ratios of
# seqlab's figures to each peer's, and the targets on them, come from those medians
ROUNDS = 2
FIGURES = ("epoch_sec", "examples_per_sec", "tokens_per_sec", "peak_rss_mib", "first_step_sec")


@dataclass(frozen=True)
class Side:
    """One tool's part in a case: `python -m <module> <args> --json <file>`, which writes one JSON record:

        {"epochs": [{"seconds", "batches", "examples", "tokens"}, ...],  # each training epoch, timed from
                                                                          # its start to its last step's loss
         "quality": {"best_val_acc": ..., "test_acc": ...},               # the case's quality figures
         "first_step_at": <time.time() at the end of the first optimizer step>,
         "figures": {...},                                                 # any other figures of the case
         "peak_rss_mib": ..., "wall_seconds": ..., ...}

    or {"skipped": "<why>"} when its tool is not installed: the side is then reported as skipped (not run
    again, not a failure), and so are the targets against it. Quality figures have the same names on every
    side."""

    name: str
    module: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    """seqlab's `figure` over `peer`'s (a ratio) at most (`at_most`) or at least `bound`; with peer SEQLAB,
    seqlab's own figure (seconds to the first step, which the issue bounds by a time rather than a peer)."""

    peer: str
    figure: str
    bound: float
    at_most: bool = True

    @property
    def name(self) -> str:
        return f"{SEQLAB} {self.figure}" if self.peer == SEQLAB else f"{SEQLAB}/{self.peer} {self.figure}"


@dataclass
class Case:
    name: str
    sides: list[Side]  # the peers first, seqlab last: each round runs them in this order
    targets: list[Target] = field(default_factory=list)


# -- the processes -------------------------------------------------------------------------------------------
def in_process(root: Path, case: str, module: str, args: list[str] | tuple[str, ...]) -> dict:
    """Runs `python -m module args --json <file>` in a new process, its output in a log under
    outputs/bench/runs/; returns the JSON it wrote, with the log's path and `launched_at` (time.time() when
    the command was given)."""
    folder = root / "outputs" / "bench" / "runs" / f"{case}-{datetime.now():%Y%m%d-%H%M%S-%f}"
    folder.mkdir(parents=True, exist_ok=True)
    out, log = folder / "figures.json", folder / "output.log"
    with log.open("w") as sink:
        launched_at = time.time()
        done = subprocess.run([sys.executable, "-m", module, *args, "--json", str(out)], cwd=root,
                              stdout=sink, stderr=subprocess.STDOUT)
    if done.returncode != 0 or not out.is_file():
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise SeqlabError(f"{case} failed (exit {done.returncode}): {tail[0]}; its log: {log}")
    return {**json.loads(out.read_text()), "log": str(log), "launched_at": launched_at}


def interleave(sides: list[Side], rounds: int, run: Callable[[Side, int], dict]) -> dict[str, list[dict]]:
    """Each side's records over `rounds` rounds, the sides in their order within a round; a side that answers
    {"skipped": ...} is not run again."""
    records: dict[str, list[dict]] = {side.name: [] for side in sides}
    for i in range(1, rounds + 1):
        for side in sides:
            if records[side.name] and "skipped" in records[side.name][0]:
                continue
            records[side.name].append(run(side, i))
    return records


# -- the figures ---------------------------------------------------------------------------------------------
def whole_epochs(epochs: list[dict]) -> list[dict]:
    """The epochs that trained all their batches: a time limit cuts only the last one, which then has fewer
    batches than the whole ones (of two or more epochs, the largest is whole)."""
    most = max((e["batches"] for e in epochs), default=0)
    return [e for e in epochs if most and e["batches"] == most]


def run_figures(record: dict) -> dict:
    """One run's figures: for a training run, seconds per epoch (the median of its whole epochs) and examples
    and tokens per second (over its whole epochs); peak resident memory; seconds from the command to the first
    optimizer step; its quality figures and any other figures it gave."""
    figures = {}
    if "epochs" in record:
        whole = whole_epochs(record["epochs"])
        seconds = sum(e["seconds"] for e in whole)

        def rate(unit: str) -> float | None:
            count = sum(e.get(unit) or 0 for e in whole)
            return round(count / seconds, 2) if count and seconds > 0 else None

        figures = {"whole_epochs": len(whole),
                   "epoch_sec": round(statistics.median(e["seconds"] for e in whole), 3) if whole else None,
                   "examples_per_sec": rate("examples"), "tokens_per_sec": rate("tokens")}
    first = record.get("first_step_at")
    figures["peak_rss_mib"] = record.get("peak_rss_mib")
    if "epochs" in record or first:
        launched = first and "launched_at" in record
        figures["first_step_sec"] = round(first - record["launched_at"], 2) if launched else None
    return {**figures, **record.get("quality", {}), **record.get("figures", {})}


def median_figures(runs: list[dict]) -> dict:
    """Each figure's median over the runs that gave it (None where none did); a figure that is not a number (a
    yes or no, a digest) is kept where every run gave the same, else None."""
    keys = [k for k in dict.fromkeys(k for run in runs for k in run) if k != "whole_epochs"]
    figures = {}
    for key in keys:
        given = [run.get(key) for run in runs]
        numbers = [v for v in given if is_number(v)]
        if numbers:
            figures[key] = round(statistics.median(numbers), 4)
        else:
            figures[key] = given[0] if all(v == given[0] for v in given) else None
    return {**figures, "runs": len(runs)}


def ratios(seqlab: dict, peer: dict) -> dict:
    """seqlab's figure over the peer's, for every figure both gave (a peer's 0 gives none)."""
    shared = [k for k in seqlab if k != "runs" and k in peer]
    return {k: round(seqlab[k] / peer[k], 3) for k in shared
            if is_number(seqlab[k]) and is_number(peer[k]) and peer[k]}


def is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def judge(case: str, target: Target, sides: dict[str, dict], found: dict[str, dict]) -> dict:
    """A target on this run's ratio; a skipped peer skips it; a ratio that a side's missing figure left out is
    an error naming the case, the side and the figure."""
    peer = sides.get(target.peer, {})
    if "skipped" in peer:
        return {"target": target.bound, "value": None, "met": None, "skipped": peer["skipped"]}
    own = target.peer == SEQLAB
    value = (sides.get(SEQLAB, {}) if own else found.get(target.peer, {})).get(target.figure)
    if value is None:
        given = dict.fromkeys((target.peer, SEQLAB))  # one name where the target is seqlab's own figure
        missing = [s for s in given if sides.get(s, {}).get(target.figure) is None]
        sides_without = " and ".join(missing) or target.peer
        raise SeqlabError(f"{case}: {sides_without} gave no {target.figure}, which the target {target.name} "
                          "needs; see its runs' logs (a training run without a whole epoch: give it more "
                          "time with --minutes)")
    return {"target": target.bound, "value": value, "met": value <= target.bound if target.at_most
            else value >= target.bound}


def compare(case: Case, records: dict[str, list[dict]]) -> dict:
    """The case's report from each side's records: per side the median figures (or why it was skipped) and
    each run's, seqlab's ratios to every peer, and the targets."""
    sides, runs = {}, {}
    for name, side_records in records.items():
        if side_records and "skipped" in side_records[0]:
            sides[name] = {"skipped": side_records[0]["skipped"]}
            continue
        runs[name] = [{**run_figures(r), "log": r.get("log")} for r in side_records]
        sides[name] = median_figures([{k: v for k, v in r.items() if k != "log"} for r in runs[name]])
    found = {name: ratios(sides[SEQLAB], figures) for name, figures in sides.items()
             if name != SEQLAB and "skipped" not in figures}
    return {"sides": sides, "ratios": found, "targets": {t.name: judge(case.name, t, sides, found)
                                                         for t in case.targets}, "runs": runs}


def run_case(root: Path, case: Case, rounds: int | None = None) -> dict:
    """Runs the case's sides interleaved (ROUNDS rounds unless `rounds` says), each in its own process, and
    compares them."""

    def one(side: Side, i: int) -> dict:
        return in_process(root, f"{case.name}-{side.name}{i}", side.module, side.args)

    return compare(case, interleave(case.sides, rounds or ROUNDS, one))


# -- what the side processes share ---------------------------------------------------------------------------
def peak_rss_mib() -> float:
    """This process's peak resident memory so far: Linux's VmHWM, the high-water mark of this program's own
    memory. (getrusage's ru_maxrss is no use here: a process started by fork and exec keeps the peak of the
    parent it was forked from, so every side would report at least the suite's own memory.)"""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)  # kB
    # imported only where /proc is missing: every side's process imports this module, and measures its memory
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # elsewhere: the best there is


def write_record(path: str | Path, record: dict) -> None:
    """A side's record, with its process's peak resident memory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**record, "peak_rss_mib": peak_rss_mib()}, indent=2))


def skipped(path: str | Path, why: str) -> None:
    """The record of a side whose tool is not installed."""
    print(f"skipped: {why}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps({"skipped": why}))
