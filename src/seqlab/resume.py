"""Resume a killed run: reopen its MLflow run, find its newest checkpoint, and hand the DataModule the state it
had (tokenizer, position in the epoch) before anything is built from it."""

from __future__ import annotations

from pathlib import Path

from seqlab.errors import SeqlabError
from seqlab.training.finite_loss import newest_checkpoint


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
