"""Register a run's model:  python pipelines/register.py run_id=<id> name=<name> [alias=champion]

Options (key=value): run_id, name, alias (points models:/<name>@<alias> at the new version), tracking_uri
(default: MLFLOW_TRACKING_URI or outputs/mlflow.db).
"""

import sys

from seqlab.commands.cli import parse_options, run_or_exit
from seqlab.tracking.registry import RegisterOptions, register_from_options

if __name__ == "__main__":
    if {"-h", "--help"} & set(sys.argv[1:]):
        print(__doc__.strip())
        sys.exit(0)
    run_or_exit(lambda: register_from_options(parse_options(RegisterOptions, sys.argv[1:])))
