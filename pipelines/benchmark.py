"""Run benchmarks on the real datasets:  python pipelines/benchmark.py [suite ...] [--minutes M]

Writes outputs/bench/<suite>.json. Data comes from data/ or SEQLAB_DATA_MIRROR like any run.
"""

import argparse
import importlib
import sys
from pathlib import Path

from seqlab.benchmarks import SUITES
from seqlab.cli import run_or_exit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="*", default=list(SUITES), help=f"any of {', '.join(SUITES)}")
    parser.add_argument("--minutes", type=float, default=None, help="training budget per preset (suite default)")
    args = parser.parse_args()
    unknown = [s for s in args.suites if s not in SUITES]
    if unknown:
        sys.exit(f"error: unknown suite(s) {', '.join(unknown)}; choices: {', '.join(SUITES)}")
    root = Path.cwd()
    for suite in args.suites:
        module = importlib.import_module(SUITES[suite])
        path = run_or_exit(module.run, root, args.minutes)
        print(f"{suite}: {path}")


if __name__ == "__main__":
    main()
