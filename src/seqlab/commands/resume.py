"""`make resume RUN=<run_id>`: run pipelines/train.py again with the run's own overrides and resume=<run_id>.

    python -m seqlab.commands.resume <run_id> [more overrides]
"""

from __future__ import annotations

import os
import shlex
import sys

from seqlab.commands.cli import run_or_exit
from seqlab.config.project import PIPELINES_DIR
from seqlab.tracking.run_lookup import run_tags


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        sys.exit("usage: python -m seqlab.commands.resume <run_id> [overrides ...]")
    run_id, extra = argv[0], argv[1:]
    uri = os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///outputs/mlflow.db")
    tags = run_or_exit(run_tags, uri, run_id)
    # hydra.mode=RUN: a trial of an Optuna preset (which sets MULTIRUN) goes on as the one run it was
    overrides = [*shlex.split(tags.get("overrides", "")), *extra, f"resume={run_id}", "hydra.mode=RUN"]
    command = [sys.executable, str(PIPELINES_DIR / "train.py"), *overrides]
    print(" ".join(command[1:]), file=sys.stderr)
    os.execv(sys.executable, command)


if __name__ == "__main__":
    main()
