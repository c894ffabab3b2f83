"""Run benchmarks on the real datasets:  python pipelines/benchmark.py [suite ...] [--minutes M]

Writes outputs/bench/<suite>.json. Data comes from data/ or SEQLAB_DATA_MIRROR like any run.
"""

import argparse
import importlib
import sys
from pathlib import Path

from seqlab.benchmarks import SUITES
from seqlab.errors import SeqlabError


def minutes(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of minutes")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="*", default=list(SUITES), help=f"any of {', '.join(SUITES)}")
    parser.add_argument("--minutes", type=minutes, default=None,
                        help="training budget per preset (default: the suite's own; sweeps trains one epoch a trial)")
    args = parser.parse_args()
    unknown = [s for s in args.suites if s not in SUITES]
    if unknown:
        sys.exit(f"error: unknown suite(s) {', '.join(unknown)}; choices: {', '.join(SUITES)}")
    root = Path.cwd()
    failed = []
    for suite in args.suites:  # a suite that fails is said, and the others still run
        module = importlib.import_module(SUITES[suite])
        try:
            print(f"{suite}: {module.run(root, args.minutes)}")
        except SeqlabError as err:
            print(f"error: {suite}: {err}", file=sys.stderr)
            failed.append(suite)
    if failed:
        sys.exit(f"error: suite(s) {', '.join(failed)} failed (above); the others wrote their reports")


if __name__ == "__main__":
    main()
