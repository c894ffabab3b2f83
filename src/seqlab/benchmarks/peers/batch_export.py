"""seqlab's classification batches written to a .npz, for a peer that does not import seqlab (Keras)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from seqlab.benchmarks.peers.torch_loop import limited, set_epoch
from seqlab.config.compose import compose_train_config
from seqlab.config.instantiate import instantiate
from seqlab.data.word_tokenizer import PAD
from seqlab.errors import SeqlabError


def padded(rows: list[list[int]], width: int) -> np.ndarray:
    ids = np.zeros((len(rows), width), dtype=np.int32)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
    return ids


def export_batches(root: Path, overrides: list[str], path: Path) -> Path:
    """Writes the batches of the config composed from `overrides` to `path` (.npz): its datamodule reads and
    encodes the rows with its own vocabulary and split, and its training sampler gives each epoch's batches in
    the order seqlab trains on them (the sampler set to each epoch, as Lightning sets it).

    The .npz holds `ids` (every train row's token ids, padded with 0 to dataset.tokenizer.max_length, the
    length the rows were cut at), `labels`, each epoch's batches (`order_<e>`: the row indices, batch after
    batch; `sizes_<e>`: each batch's size), the val and test rows (`val_ids`, `val_labels`, `test_ids`,
    `test_labels`) and `settings` (JSON: the net's and the optimizer's options, vocabulary size, classes,
    epochs, batch sizes, the padded length)."""

    cfg = compose_train_config(overrides, root, path.parent / "run")
    datamodule = instantiate(cfg.dataset)
    datamodule.prepare_data()
    datamodule.setup("fit")
    if datamodule.task_name != "classification" or datamodule.pretrained:
        raise SeqlabError("the Keras peer trains classifiers on seqlab's word vocabulary; its case must "
                          "compose a classification dataset without dataset.tokenizer.pretrained")
    if datamodule.tokenizer.token_to_id(PAD) != 0:
        raise SeqlabError("the Keras peer masks padding as id 0, and this vocabulary puts <pad> elsewhere")
    rows = {split: datamodule.encoded[split] for split in ("train", "val", "test")}
    width = datamodule.tokenizer_options.max_length  # rows are cut at it; the course pads every row to it
    loader = datamodule.train_dataloader()
    per_epoch = limited(len(loader), cfg.trainer.get("limit_train_batches"))
    arrays = {"ids": padded(rows["train"][0], width), "labels": np.array(rows["train"][1], dtype=np.int32)}
    for split in ("val", "test"):
        arrays[f"{split}_ids"] = padded(rows[split][0], width)
        arrays[f"{split}_labels"] = np.array(rows[split][1], dtype=np.int32)
    for epoch in range(cfg.trainer.max_epochs):
        set_epoch(loader, epoch)
        batches = list(loader.batch_sampler)[:per_epoch]
        arrays[f"order_{epoch}"] = np.array([i for batch in batches for i in batch], dtype=np.int64)
        arrays[f"sizes_{epoch}"] = np.array([len(batch) for batch in batches], dtype=np.int64)
    settings = {
        "net": OmegaConf.to_container(cfg.model.net, resolve=True),
        "optimizer": OmegaConf.to_container(cfg.model.optimizer, resolve=True),
        "scheduler": (OmegaConf.to_container(cfg.model.scheduler, resolve=True) if cfg.model.scheduler
                      else None),
        "label_smoothing": float(cfg.model.get("label_smoothing") or 0.0),
        "vocab_size": datamodule.model_kwargs()["vocab_size"],
        "num_classes": len(datamodule.labels),
        "epochs": cfg.trainer.max_epochs,
        "batches_per_epoch": per_epoch,
        "eval_batch_size": datamodule.eval_batch_size,
        "width": width,
        "seed": cfg.seed,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, settings=np.array(json.dumps(settings)), **arrays)
    return path
