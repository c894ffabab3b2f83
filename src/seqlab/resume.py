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


def resume_run(tracker, run_id: str) -> str:
    """Reopens the run in the tracker and returns its run folder."""
    if not hasattr(tracker, "resume"):
        raise SeqlabError("resume=<run_id> continues an MLflow run: use logger=mlflow (the default)")
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
