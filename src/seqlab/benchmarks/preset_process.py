"""One preset trained in a process of its own, for suites that interleave seqlab with a peer process:

    python -m seqlab.benchmarks.preset_process --json out.json --name NAME --minutes M [--history KEY ...] OVERRIDE ...

Trains with runner.train_preset (tracked in MLflow like any run, torch on THREADS threads) and writes its figures,
read back from MLflow, with the process's peak resident memory, as JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from pathlib import Path

from seqlab.benchmarks.runner import THREADS, torch_threads, train_preset
from seqlab.errors import SeqlabError


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", required=True, help="where the figures are written")
    parser.add_argument("--name", required=True, help="names the run folder: outputs/bench/runs/<name>-<time>")
    parser.add_argument("--minutes", type=float, required=True, help="training budget (trainer.max_time)")
    parser.add_argument("--history", action="append", default=[], help="a metric whose every value is wanted")
    parser.add_argument("overrides", nargs="*", help="the preset and its overrides: experiment=sentiment_finetune")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        with torch_threads(THREADS):
            figures = train_preset(Path.cwd(), args.name, args.overrides, args.minutes, tuple(args.history))
    except SeqlabError as err:
        sys.exit(f"error: {err}")
    figures["peak_rss_mib"] = peak_rss_mib()
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
