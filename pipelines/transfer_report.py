"""The transfer report:  python pipelines/transfer_report.py [seeds=[1,2,3]] [families=[lstm,cnn,...]]

Pretrains the small BERT once (experiment=transfer_pretrain), trains every family over the seeds in one
multirun (experiment=transfer_report), then compares them: outputs/reports/compare-<experiment>-<sweep>.md and
its plots. Options (key=value): families (default: all of conf/family/), seeds, pretraining_run (a finished
pretraining run to reuse; default: pretrain), pretrain_overrides=[...] and overrides=[...] (more Hydra
overrides of the pretraining run and of every family's run), tracking_uri (default: MLFLOW_TRACKING_URI or
outputs/mlflow.db), output_dir.
"""

import sys

from seqlab.commands.cli import parse_options, run_or_exit
from seqlab.reports.transfer_report import TransferReportOptions, transfer_report_from_options

if __name__ == "__main__":
    if {"-h", "--help"} & set(sys.argv[1:]):
        print(__doc__.strip())
        sys.exit(0)
    run_or_exit(lambda: transfer_report_from_options(parse_options(TransferReportOptions, sys.argv[1:])))
