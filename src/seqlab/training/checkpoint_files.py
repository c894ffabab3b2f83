"""Checkpoint files in a run's checkpoints/ folder, found without importing Lightning or torch (make resume reads
only these and the run's MLflow tags before it hands over to pipelines/train.py)."""

from __future__ import annotations

from pathlib import Path


def newest_checkpoint(folder: str | Path) -> Path | None:
    """The checkpoint written last in `folder` (partial files from an interrupted save are not *.ckpt)."""
    found = sorted(Path(folder).glob("*.ckpt"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None
