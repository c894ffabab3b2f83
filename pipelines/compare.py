"""Compare runs:  python pipelines/compare.py experiment=sst2-classification [sweep=<id>] [metric=val/f1]

Options (key=value): experiment, sweep (a sweep_id), metric (default: what the runs optimized), mode
(max|min), top (rows shown), tracking_uri (default: MLFLOW_TRACKING_URI or outputs/mlflow.db), output_dir
(outputs/reports).
"""

import sys

from seqlab.commands.cli import parse_options, run_or_exit
from seqlab.reports.compare import CompareOptions, compare_from_options

if __name__ == "__main__":
    if {"-h", "--help"} & set(sys.argv[1:]):
        print(__doc__.strip())
        sys.exit(0)
    run_or_exit(lambda: compare_from_options(parse_options(CompareOptions, sys.argv[1:])))
