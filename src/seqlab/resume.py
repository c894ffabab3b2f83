"""Resume a killed run: reopen its MLflow run, find its newest checkpoint, and hand the DataModule the state it
had (tokenizer, position in the epoch) before anything is built from it.

    python -m seqlab.resume <run_id> [more overrides]      (make resume RUN=<run_id>)
runs pipelines/train.py again with the run's own overrides and resume=<run_id>.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from seqlab.errors import SeqlabError
from seqlab.training.checkpoint_files import newest_checkpoint

# tasks whose runs cannot go on from a checkpoint, and why
NOT_RESUMABLE = {"ner": "spaCy's training loop keeps no optimizer state between runs"}


def resume_run(tracker, run_id: str) -> str:
    """Reopens the run in the tracker and returns its run folder. A run of a task that cannot be resumed is
    refused before it is reopened, so that it keeps the status it has."""
    from seqlab.tracking.run_lookup import run_tags

    if not hasattr(tracker, "resume"):
        raise SeqlabError("resume=<run_id> continues an MLflow run: use logger=mlflow (the default)")
    try:
        task = run_tags(tracker.tracking_uri, str(run_id)).get("task")
    except SeqlabError:
        task = None  # no such run: tracker.resume says so
    if task in NOT_RESUMABLE:
        raise SeqlabError(f"run '{run_id}' is a {task} run, which cannot be resumed ({NOT_RESUMABLE[task]}): "
                          "train it again")
    return tracker.resume(str(run_id))


def resume_checkpoint(run_dir: str | Path) -> Path:
    folder = Path(run_dir) / "checkpoints"
    checkpoint = newest_checkpoint(folder) if folder.is_dir() else None
    if checkpoint is None:
        raise SeqlabError(f"the run has no checkpoint in {folder} to resume from; train it again instead")
    return checkpoint


def restore_datamodule(datamodule, checkpoint: Path) -> None:
    import torch

    state = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)
    saved = state.get(type(datamodule).__qualname__)
    if saved:
        datamodule.load_state_dict(saved)


def main(argv: list[str] | None = None) -> None:
    from seqlab.cli import run_or_exit
    from seqlab.tracking.run_lookup import run_tags

    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        sys.exit("usage: python -m seqlab.resume <run_id> [overrides ...]")
    run_id, extra = argv[0], argv[1:]
    uri = os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///outputs/mlflow.db")
    tags = run_or_exit(run_tags, uri, run_id)
    script = Path(__file__).resolve().parents[2] / "pipelines" / "train.py"
    command = [sys.executable, str(script), *shlex.split(tags.get("overrides", "")), *extra, f"resume={run_id}"]
    print(" ".join(command[1:]), file=sys.stderr)
    os.execv(sys.executable, command)


if __name__ == "__main__":
    main()
