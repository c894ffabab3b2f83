"""The train, val and test dataloaders of a datamodule, each from its one `_loader(split, batch_size, shuffle)`:
train shuffled in batches of `batch_size`, val and test in order in batches of `eval_batch_size`."""

from __future__ import annotations


class SplitLoaders:
    batch_size: int
    eval_batch_size: int

    def _loader(self, split: str, batch_size: int, shuffle: bool):
        raise NotImplementedError

    def train_dataloader(self):
        return self._loader("train", self.batch_size, shuffle=True)

    def val_dataloader(self):
        return self._loader("val", self.eval_batch_size, shuffle=False)

    def test_dataloader(self):
        return self._loader("test", self.eval_batch_size, shuffle=False)
