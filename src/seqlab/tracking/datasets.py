"""The data splits a run read, as MLflow dataset inputs: the runs table's Dataset column and the run page show
each split's name, digest, source files and row count."""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class DataSplit:
    dataset: str             # the dataset's name (sst2)
    split: str               # train | val | test
    files: tuple[str, ...]   # the files it was read from (a split carved from train names train's file)
    rows: int                # examples in it (sentences, sentence pairs; tokens of a language model's corpus)


def data_splits(name: str, datamodule) -> list[DataSplit]:
    """The splits of a datamodule that lists them (data_splits(): {split: (files, rows)})."""
    splits = getattr(datamodule, "data_splits", dict)()
    return [DataSplit(name, split, tuple(files), rows) for split, (files, rows) in splits.items()]


def file_sha256(path: str) -> str:
    """The file's sha256, read once while it is unchanged: the data params and every split that names the file
    (a test split carved from train) share one read."""
    stat = os.stat(path)
    return _sha256(os.path.realpath(path), stat.st_size, stat.st_mtime_ns)


@functools.cache
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dataset_inputs(splits: list[DataSplit]) -> list:
    """MLflow DatasetInputs, one a split, tagged with the split as MLflow's dataset context. The digest
    covers the files' bytes, the split and its size, so that a changed file or another carve-out is another
    dataset."""
    # MLflow is imported here only: train imports this module whatever the logger
    from mlflow.entities import Dataset, DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    inputs = []
    for split in splits:
        key = json.dumps([split.split, split.rows, [file_sha256(f) for f in split.files]])
        source = json.dumps({"uris": list(split.files)})
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        dataset = Dataset(name=f"{split.dataset}-{split.split}", digest=digest, source_type="local",
                          source=source, profile=json.dumps({"num_rows": split.rows}))
        inputs.append(DatasetInput(dataset, tags=[InputTag(MLFLOW_DATASET_CONTEXT, split.split)]))
    return inputs
