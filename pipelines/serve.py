"""Serve a registered model:
    python pipelines/serve.py model=models:/<name>@<alias> [port=5001] [host=127.0.0.1]

Options (key=value): model (models:/<name>@<alias> or models:/<name>/<version>), port (5001), host (127.0.0.1;
0.0.0.0 opens it to the network), tracking_uri (default: MLFLOW_TRACKING_URI or outputs/mlflow.db). Requests
go to http://<host>:<port>/invocations (MLflow's scoring server: inputs, dataframe_split or dataframe_records,
and params).
"""

import sys

from seqlab.commands.cli import parse_options, run_or_exit
from seqlab.tracking.serving import ServeOptions, serve

if __name__ == "__main__":
    if {"-h", "--help"} & set(sys.argv[1:]):
        print(__doc__.strip())
        sys.exit(0)
    run_or_exit(lambda: serve(parse_options(ServeOptions, sys.argv[1:])))
