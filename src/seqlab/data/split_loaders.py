"""What the datamodules share: their three dataloaders, and the position in an epoch a checkpoint carries."""

from __future__ import annotations

from typing import ClassVar


class SplitLoaders:
    """The train, val and test dataloaders, each from the datamodule's one `_loader(split, batch_size,
    shuffle)` (train shuffled in batches of `batch_size`, val and test in order in batches of
    `eval_batch_size`); a resumed run skips the batches it already trained on (resume_sampler)."""

    # the net's arguments that model_kwargs() takes from the data (the config check does not offer them)
    MODEL_ARGUMENTS: ClassVar[frozenset[str]] = frozenset()
    batch_size: int
    eval_batch_size: int
    resume_position: tuple[int, ...] | None = None  # of a restored checkpoint: see training_position

    def _loader(self, split: str, batch_size: int, shuffle: bool):
        raise NotImplementedError

    def train_dataloader(self):
        return self._loader("train", self.batch_size, shuffle=True)

    def val_dataloader(self):
        return self._loader("val", self.eval_batch_size, shuffle=False)

    def test_dataloader(self):
        return self._loader("test", self.eval_batch_size, shuffle=False)

    def restore_position(self, state: dict) -> None:
        """Takes the position a checkpoint's datamodule state holds (none: the epoch starts from its first
        batch)."""
        self.resume_position = tuple(state["position"]) if state.get("position") else None

    def resume_sampler(self, sampler, world_size: int, unit: int = 1) -> None:
        """Hands a training sampler the epoch being resumed and what of it is done, in the sampler's own unit
        (`unit` items a batch: 1 for batch samplers, the batch size for samplers of examples). A run resumed
        on another number of ranks skips the same share of the epoch: batches done per rank * the ranks then,
        over the ranks now (up to a rank's batch retrained)."""
        if self.resume_position is None:
            return
        epoch, done, *rest = self.resume_position
        ranks_then = rest[0] if rest else 1
        sampler.resume_at(epoch, done * ranks_then // max(1, world_size) * unit)


def training_position(trainer) -> list[int] | None:
    """[epoch, batches trained in it on each rank, ranks] while a Trainer is fitting, for a checkpoint to
    resume mid-epoch."""
    if trainer is None or not trainer.training:
        return None
    batches = trainer.fit_loop.epoch_loop.batch_progress.current.processed
    return [trainer.current_epoch, batches, trainer.world_size]
