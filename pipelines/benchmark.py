"""Run benchmarks on the real datasets:  python pipelines/benchmark.py [suite ...] [--minutes M] [--quick]

Writes outputs/bench/<suite>.json and outputs/bench/summary.md (outputs/bench/quick/ for --quick), and logs
each report to the MLflow experiment `bench` (`bench-quick`). Data comes from data/ or SEQLAB_DATA_MIRROR like
any run.
"""

import argparse
import sys
from pathlib import Path

from seqlab.benchmarks import SUITES
from seqlab.benchmarks.command import run_suites


def minutes(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of minutes")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="*", default=list(SUITES), help=f"any of {', '.join(SUITES)}")
    parser.add_argument("--minutes", type=minutes, default=None,
                        help="training budget per preset (default: the suite's own; sweeps: one epoch "
                             "a trial)")
    parser.add_argument("--quick", action="store_true",
                        help="every case on a tiny budget (debug=smoke slices, few batches): checks the "
                             "machinery in minutes, not the figures; reports in outputs/bench/quick/")
    args = parser.parse_args()
    unknown = [s for s in args.suites if s not in SUITES]
    if unknown:
        sys.exit(f"error: unknown suite(s) {', '.join(unknown)}; choices: {', '.join(SUITES)}")
    failed = run_suites(Path.cwd(), args.suites, args.minutes, args.quick)
    if failed:
        sys.exit(f"error: suite(s) {', '.join(failed)} failed (above); the others wrote their reports")


if __name__ == "__main__":
    main()
