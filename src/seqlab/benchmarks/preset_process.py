"""One preset trained in a process of its own: seqlab's side of a case that suites run beside its peers.

    python -m seqlab.benchmarks.preset_process --json out.json --name NAME --minutes M [--history KEY ...] \
        [--quality test/acc ...] OVERRIDE ...
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seqlab.benchmarks.first_step import OVERRIDE as FIRST_STEP
from seqlab.benchmarks.first_step import FirstOptimizerStep
from seqlab.benchmarks.runner import THREADS, epoch_batches, torch_threads, train_preset
from seqlab.benchmarks.side_by_side import write_record
from seqlab.errors import SeqlabError

EPOCH_HISTORIES = ("train/epoch_sec", "train/examples_per_sec", "train/tokens_per_sec")


def epochs(record: dict) -> list[dict]:
    """Each epoch's seconds, batches, examples and tokens, from the run's once-an-epoch figures
    (train/epoch_sec and the rates logged with it)."""
    history, steps = record.get("history", {}), record.get("history_steps", {})
    seconds = history.get("train/epoch_sec", [])
    batches = epoch_batches(steps.get("train/epoch_sec", []))

    def counts(key: str) -> list[int | None]:
        rates = history.get(key, [])
        if len(rates) != len(seconds):
            return [None] * len(seconds)
        return [round(rate * s) for rate, s in zip(rates, seconds, strict=True)]

    examples, tokens = counts("train/examples_per_sec"), counts("train/tokens_per_sec")
    return [{"seconds": s, "batches": b, "examples": e, "tokens": t}
            for s, b, e, t in zip(seconds, batches, examples, tokens, strict=True)]


def quality(record: dict, keys: list[str]) -> dict:
    """The best value of the optimized metric (as best_val_acc) and each --quality key's final value
    (test/acc as test_acc)."""
    found = {f"best_{record['optimized_metric'].replace('/', '_')}": record.get("value")}
    for key in keys:
        found[key.replace("/", "_")] = record.get("metrics", {}).get(key)
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in found.items()}


def main(argv: list[str] | None = None) -> None:
    """Trains with runner.train_preset (tracked in MLflow like any run, torch on THREADS threads) and writes
    its figures, read back from MLflow, as JSON: the run's record, its epochs, its quality figures, the
    wall-clock time at the end of its first optimizer step and the process's peak resident memory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", required=True, help="where the figures are written")
    parser.add_argument("--name", required=True,
                        help="names the run folder: outputs/bench/runs/<name>-<time>")
    parser.add_argument("--minutes", type=float, required=True, help="training budget (trainer.max_time)")
    parser.add_argument("--history", action="append", default=[], help="a metric whose every value is wanted")
    parser.add_argument("--quality", action="append", default=[], help="a final metric reported as quality")
    parser.add_argument("overrides", nargs="*",
                        help="the preset and its overrides: experiment=sentiment_finetune")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    histories = tuple(dict.fromkeys([*args.history, *EPOCH_HISTORIES]))
    try:
        with torch_threads(THREADS):
            overrides = [*args.overrides, FIRST_STEP]
            record = train_preset(Path.cwd(), args.name, overrides, args.minutes, histories)
    except SeqlabError as err:
        sys.exit(f"error: {err}")
    write_record(args.json, {**record, "epochs": epochs(record), "quality": quality(record, args.quality),
                             "first_step_at": FirstOptimizerStep.at})


if __name__ == "__main__":
    main()
