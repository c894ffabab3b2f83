"""Labelled texts for classification: SST-2, the course's toy sentences, or the user's own files."""

from __future__ import annotations

import random
import sys
from typing import Literal

import lightning as L
import torch
from tokenizers import Tokenizer
from torch.utils.data import DataLoader

from seqlab.data.batching import LengthGroupedBatchSampler, pad_sequences
from seqlab.data.download import ensure_files
from seqlab.data.options import check_sample_caps
from seqlab.data.readers import read_table
from seqlab.data.split_loaders import SplitLoaders, training_position
from seqlab.data.word_tokenizer import PAD, UNK, WordTokenizerOptions, encode_texts, train_word_tokenizer
from seqlab.errors import SeqlabError
from seqlab.models.gpt2_lm import context_size
from seqlab.pretrained.transformers_models import load_config, load_tokenizer

SPLITS = ("train", "val", "test")


class ClassificationDataModule(SplitLoaders, L.LightningDataModule):
    """Reads the splits (tsv, csv or jsonl files; a test split is carved from train when there is none),
    trains the word tokenizer on train (or loads a pretrained model's own tokenizer,
    dataset.tokenizer.pretrained), encodes every split once, and serves length-grouped, per-batch padded
    batches: {input_ids [B, T], attention_mask [B, T], labels [B], index [B]} (index: the row in its split).
    """

    task_name = "classification"

    def __init__(
        self,
        name: str,
        data_dir: str | None = None,
        source: str | None = None,
        train_file: str = "train.tsv",
        val_file: str = "dev.tsv",
        test_file: str | None = None,
        test_fraction: float = 0.1,
        split_seed: int = 1234,
        format: Literal["tsv", "csv", "jsonl"] | None = None,
        text_column: str = "text",
        label_column: str = "label",
        labels: list | None = None,
        label_names: list | None = None,
        examples: list | None = None,
        tokenizer: dict | None = None,
        batch_size: int = 64,
        eval_batch_size: int = 256,
        num_workers: int = 0,
        max_train_samples: int | None = None,
        max_eval_samples: int | None = None,
        tracking_uri: str | None = None,
    ):
        super().__init__()
        if batch_size < 1 or eval_batch_size < 1:
            raise SeqlabError("dataset.batch_size and dataset.eval_batch_size must be at least 1")
        if not 0 < test_fraction < 1:
            raise SeqlabError(f"dataset.test_fraction={test_fraction} must lie between 0 and 1")
        check_sample_caps(max_train_samples, max_eval_samples, "row")
        if examples is None and data_dir is None:
            raise SeqlabError("dataset.data_dir is not set; point it at the folder of the dataset's files")
        if labels is not None and label_names is not None and len(labels) != len(label_names):
            raise SeqlabError("dataset.label_names must have one name per entry of dataset.labels")
        self.name = name
        self.data_dir, self.source = data_dir, source
        self.files = {"train": train_file, "val": val_file, "test": test_file}
        self.test_fraction, self.split_seed = test_fraction, split_seed
        self.format = format
        self.text_column, self.label_column = text_column, label_column
        self.labels = [str(x) for x in labels] if labels is not None else None
        self.label_names = [str(x) for x in label_names] if label_names is not None else None
        self.examples = examples
        self.tokenizer_options = WordTokenizerOptions.from_config(tokenizer)
        self.batch_size, self.eval_batch_size, self.num_workers = batch_size, eval_batch_size, num_workers
        self.max_train_samples, self.max_eval_samples = max_train_samples, max_eval_samples
        self.tracking_uri = tracking_uri  # where a tokenizer.pretrained of mlflow:<run_id> is looked up
        self.tokenizer = None
        # a pretrained tokenizer's cut: tokenizer.max_length or the positions
        self.max_length: int | None = None
        self.rows: dict[str, list[tuple[str, str]]] = {}
        self.encoded: dict[str, tuple[list[list[int]], list[int]]] = {}

    # -- reading ---------------------------------------------------------------------------------------------
    def prepare_data(self) -> None:
        if self.examples is None:
            ensure_files(self.source, self.data_dir, [f for f in self.files.values() if f])

    def _read(self, split: str) -> list[tuple[str, str]]:
        path = f"{self.data_dir}/{self.files[split]}"
        columns = {self.text_column: "dataset.text_column", self.label_column: "dataset.label_column"}
        table = read_table(path, self.format, columns)
        if not table:
            raise SeqlabError(f"the {split} split ({path}) has no rows; check the file or "
                              f"dataset.{split}_file")
        return [(r[self.text_column].strip(), r[self.label_column].strip()) for r in table]

    def _read_splits(self) -> dict[str, list[tuple[str, str]]]:
        if self.examples is not None:
            rows = [(str(text), str(label)) for text, label in self.examples]
            return {split: rows for split in SPLITS}
        rows = {"train": self._read("train"), "val": self._read("val")}
        if self.files["test"]:
            rows["test"] = self._read("test")
        else:  # carve a fixed share of train, the same rows in every run
            order = list(range(len(rows["train"])))
            random.Random(self.split_seed).shuffle(order)
            cut = max(1, int(len(order) * self.test_fraction))
            if cut >= len(order):
                raise SeqlabError(f"the train split has {len(order)} row(s): too few to carve a test "
                                  "split from")
            rows["test"] = [rows["train"][i] for i in sorted(order[:cut])]
            rows["train"] = [rows["train"][i] for i in sorted(order[cut:])]
        caps = {"train": self.max_train_samples, "val": self.max_eval_samples, "test": self.max_eval_samples}
        return {split: split_rows[: caps[split]] if caps[split] else split_rows
                for split, split_rows in rows.items()}

    def setup(self, stage: str | None = None) -> None:
        if self.encoded:
            return
        self.rows = self._read_splits()
        known = self.labels or sorted({label for _, label in self.rows["train"]})
        for split in SPLITS:
            outside = sorted({label for _, label in self.rows[split]} - set(known))
            if outside:
                raise SeqlabError(
                    f"the {split} split has label(s) {outside} outside the known set {known}; fix the file "
                    "or list every label in dataset.labels"
                )
        if len(known) < 2:
            raise SeqlabError(f"the train split has only the label(s) {known}; a classifier needs at "
                              "least two")
        if self.label_names is not None and len(self.label_names) != len(known):
            raise SeqlabError(f"dataset.label_names has {len(self.label_names)} name(s) for the {len(known)} "
                              f"labels {known}; give one name per label, in the order of dataset.labels (or "
                              "of the sorted labels found in train)")
        self.labels = known
        if self.pretrained:
            self._encode_pretrained()
            return
        if self.tokenizer is None:  # a tokenizer restored from a checkpoint is kept
            self.tokenizer = train_word_tokenizer((t for t, _ in self.rows["train"]), self.tokenizer_options)
        for split in SPLITS:
            self.encoded[split] = (encode_texts(self.tokenizer, self.texts(split)), self._label_ids(split))

    def _label_ids(self, split: str) -> list[int]:
        index = {label: i for i, label in enumerate(self.labels)}
        return [index[y] for _, y in self.rows[split]]

    # -- a pretrained model's own tokenizer ------------------------------------------------------------------
    @property
    def pretrained(self) -> str | None:
        return self.tokenizer_options.pretrained

    def _encode_pretrained(self) -> None:
        """Encodes with the pretrained tokenizer, cutting texts at dataset.tokenizer.max_length or the model's
        positions, whichever is fewer; how many texts were cut is printed once."""
        option = "model.net.pretrained"  # which dataset.tokenizer.pretrained follows
        self.tokenizer = load_tokenizer(self.pretrained, option, self.tracking_uri)
        positions = context_size(load_config(self.pretrained, option, self.tracking_uri))
        cap = self.tokenizer_options.max_length
        self.max_length = min(cap, positions or cap)
        self.tokenizer.model_max_length = self.max_length  # what the saved tokenizer cuts at when predicting
        cut = {}
        for split in SPLITS:
            ids = self.tokenizer(self.texts(split), truncation=False, verbose=False)["input_ids"]
            cut[split] = sum(len(x) > self.max_length for x in ids)
            self.encoded[split] = ([x if len(x) <= self.max_length else self._cut(x) for x in ids],
                                   self._label_ids(split))
        if any(cut.values()) and (self.trainer is None or self.trainer.global_rank == 0):
            counts = ", ".join(f"{split} {n}" for split, n in cut.items())
            print(f"{self.name}: cut texts longer than {self.max_length} tokens "
                  f"(dataset.tokenizer.max_length={self.tokenizer_options.max_length}, the model's "
                  f"positions: {positions}): {counts}",
                  file=sys.stderr)

    def _cut(self, ids: list[int]) -> list[int]:
        """The first max_length - 1 tokens and the last one (the end token the tokenizer adds)."""
        return ids[: self.max_length - 1] + ids[-1:]

    # -- what the model and task are sized from --------------------------------------------------------------
    @property
    def display_labels(self) -> list[str]:
        return self.label_names or self.labels

    MODEL_ARGUMENTS = frozenset({"labels", "vocab_size", "num_classes", "pad_id", "unk_id"})

    def model_kwargs(self) -> dict:
        if self.pretrained:
            return {"labels": self.display_labels}
        return {"vocab_size": self.tokenizer.get_vocab_size(), "num_classes": len(self.labels),
                "pad_id": self.tokenizer.token_to_id(PAD), "unk_id": self.tokenizer.token_to_id(UNK)}

    def task_kwargs(self) -> dict:
        return {"num_classes": len(self.labels)}

    def texts(self, split: str) -> list[str]:
        return [t for t, _ in self.rows[split]]

    # -- batches ---------------------------------------------------------------------------------------------
    def _loader(self, split: str, batch_size: int, shuffle: bool) -> DataLoader:
        ids, labels = self.encoded[split]
        trainer = self.trainer
        sampler = LengthGroupedBatchSampler(
            [len(x) for x in ids], batch_size, shuffle, seed=self.split_seed,
            num_replicas=trainer.world_size if trainer else 1, rank=trainer.global_rank if trainer else 0,
        )
        if shuffle:
            self.resume_sampler(sampler, trainer.world_size if trainer else 1)
        pad_id = self.tokenizer.pad_token_id if self.pretrained else self.tokenizer.token_to_id(PAD)
        collate = ClassificationCollator(ids, labels, pad_id)
        # a generator of its own: starting an epoch leaves the global random state (dropout masks) untouched
        return DataLoader(list(range(len(ids))), batch_sampler=sampler, collate_fn=collate,
                          num_workers=self.num_workers,
                          generator=torch.Generator().manual_seed(self.split_seed))

    # -- checkpoints: the tokenizer and labels travel with the weights ---------------------------------------
    def state_dict(self) -> dict:
        trained = self.tokenizer is not None and not self.pretrained  # a pretrained one reloads by its name
        return {"tokenizer": self.tokenizer.to_str() if trained else None, "labels": self.labels,
                "label_names": self.display_labels, "position": training_position(self.trainer),
                "max_length": self.max_length if self.pretrained else None}

    def load_state_dict(self, state: dict) -> None:
        if state.get("tokenizer"):
            self.tokenizer = Tokenizer.from_str(state["tokenizer"])
        self.labels = state.get("labels") or self.labels
        self.restore_position(state)

    def data_files(self) -> list[str]:
        """The files this dataset reads (their sha256 is logged with the run)."""
        return [] if self.examples is not None else [f"{self.data_dir}/{f}" for f in self.files.values() if f]

    def data_splits(self) -> dict[str, tuple[list[str], int]]:
        """Each split's files (train's for a test split carved from it) and rows."""
        named = {split: self.files[split] or self.files["train"] for split in SPLITS}
        files = {split: [] if self.examples is not None else [f"{self.data_dir}/{named[split]}"]
                 for split in SPLITS}
        return {split: (files[split], len(self.rows[split])) for split in SPLITS}


class ClassificationCollator:
    """Indices of a batch -> padded tensors."""

    def __init__(self, ids: list[list[int]], labels: list[int], pad_id: int):
        self.ids, self.labels, self.pad_id = ids, labels, pad_id

    def __call__(self, batch: list[int]) -> dict:
        input_ids, mask = pad_sequences([self.ids[i] for i in batch], self.pad_id)
        return {"input_ids": input_ids, "attention_mask": mask,
                "labels": torch.tensor([self.labels[i] for i in batch]), "index": torch.tensor(batch)}
