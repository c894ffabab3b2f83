"""`make bench`: runs the suites asked for, logs each report to MLflow, and writes the summary."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from seqlab.benchmarks import SUITES
from seqlab.errors import SeqlabError


def run_suites(root: Path, suites: list[str], minutes: float | None, quick: bool) -> list[str]:
    """Runs each suite and logs its report to MLflow (experiment `bench`, `bench-quick` for --quick); then
    prints the summary of every report in the folder and writes summary.md. A suite that fails is said, and
    the others still run; returns those that failed."""
    # imported where used: pipelines/benchmark.py --help stays fast (torch, mlflow, rich)
    from seqlab.benchmarks.runner import output_dir
    from seqlab.benchmarks.summary import write_summary
    from seqlab.tracking.bench_runs import log_bench_report

    failed = []
    for suite in suites:
        module = importlib.import_module(SUITES[suite])
        try:
            report = module.run(root, minutes, quick=quick)
        except SeqlabError as err:
            print(f"error: {suite}: {err}", file=sys.stderr)
            failed.append(suite)
            continue
        print(f"{suite}: {report}")
        try:
            print(f"{suite}: MLflow run {log_bench_report(root, report)}")
        except Exception as err:  # the report is written: a store that cannot take it is a warning
            print(f"warning: {suite}: its report was not logged to MLflow ({type(err).__name__}: {err})",
                  file=sys.stderr)
    print(f"summary: {write_summary(output_dir(root, quick))}")
    return failed
