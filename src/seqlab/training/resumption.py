"""Resuming a killed run: reopen its MLflow run, find its newest checkpoint, restore its DataModule."""

from __future__ import annotations

from pathlib import Path

from seqlab.errors import SeqlabError
from seqlab.tracking.orphaned_runs import PROCESS_TAG, running_pid
from seqlab.tracking.run_lookup import get_run

# torch is imported where used: seqlab.commands.train imports this module at its top and starts fast

# models (their _target_) whose runs cannot go on from a checkpoint, and why
NOT_RESUMABLE = {
    "seqlab.ner.task.SpacyNerTask": "spaCy's training loop keeps no optimizer state between runs",
}


def resume_run(tracker, run_id: str) -> str:
    """Reopens the run in the tracker and returns its run folder. A run that cannot go on (of a task that
    cannot be resumed, not a training run, finished, still running, or without a checkpoint) is refused before
    it is reopened, so that it keeps the status it has."""
    if not hasattr(tracker, "resume"):
        raise SeqlabError("resume=<run_id> continues an MLflow run: use logger=mlflow (the default)")
    run = get_run(tracker.tracking_uri, str(run_id), " to resume")
    tags, status = run.data.tags, run.info.status
    task = tags.get("task")
    model = run.data.params.get("model._target_")
    if model in NOT_RESUMABLE:
        raise SeqlabError(f"run '{run_id}' is a {task} run, which cannot be resumed "
                          f"({NOT_RESUMABLE[model]}): train it again")
    if tags.get("sweep") == "parent" or not tags.get("run_dir"):
        raise SeqlabError(f"run '{run_id}' is not a training run; resume the run of a training")
    if status == "FINISHED":
        raise SeqlabError(f"run '{run_id}' is FINISHED: nothing is left to resume; train again to train more "
                          "(trainer.max_epochs=...)")
    pid = running_pid(tags.get(PROCESS_TAG, "")) if status == "RUNNING" else None
    if pid is not None:
        raise SeqlabError(f"run '{run_id}' is still being trained, by process {pid} on this machine; stop it "
                          f"(kill {pid}) before resuming it")
    resume_checkpoint(tags["run_dir"])  # there is one to go on from
    return tracker.resume(run)


def newest_checkpoint(folder: str | Path) -> Path | None:
    """The checkpoint written last in `folder` (partial files from an interrupted save are not *.ckpt)."""
    found = sorted(Path(folder).glob("*.ckpt"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def resume_checkpoint(run_dir: str | Path) -> Path:
    """The checkpoint a resumed run goes on from: the newest in the run folder's checkpoints/."""
    folder = Path(run_dir) / "checkpoints"
    checkpoint = newest_checkpoint(folder) if folder.is_dir() else None
    if checkpoint is None:
        raise SeqlabError(f"the run has no checkpoint in {folder} to resume from; train it again instead")
    return checkpoint


def restore_datamodule(datamodule, checkpoint: Path) -> None:
    """Hands the DataModule the state it had (tokenizer, position in the epoch), before anything is built from
    it."""
    import torch

    state = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)
    saved = state.get(type(datamodule).__qualname__)
    if saved:
        datamodule.load_state_dict(saved)
