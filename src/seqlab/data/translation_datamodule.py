"""Sentence pairs for translation: Multi30k (any two of en, de, fr) or the user's own parallel text."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

import lightning as L
import torch
from tokenizers import Tokenizer
from torch.utils.data import DataLoader

from seqlab.data.batching import LengthGroupedBatchSampler, pad_sequences
from seqlab.data.download import ensure_files
from seqlab.data.options import check_sample_caps
from seqlab.data.parallel_readers import read_parallel
from seqlab.data.seq2seq_tokenizers import (
    Seq2SeqTokenizerOptions,
    decode,
    encode,
    special_ids,
    train_tokenizer,
)
from seqlab.data.split_loaders import SplitLoaders, training_position
from seqlab.errors import SeqlabError

SPLITS = ("train", "val", "test")


class TranslationDataModule(SplitLoaders, L.LightningDataModule):
    """Reads each split (two aligned files, or one TSV of pairs), leaves out or rejects pairs with an empty
    side, trains a source and a target tokenizer on train, encodes every split once (sentences longer than
    max_length tokens are cut, counted and reported once), and serves length-grouped, per-batch padded
    batches: {src_ids [B, S], src_mask [B, S], tgt_ids [B, T] (<bos> ... <eos>), index [B]} (index: the
    pair's row in its split).
    """

    task_name = "translation"

    def __init__(
        self,
        name: str,
        data_dir: str | None = None,
        source: str | None = None,
        src_lang: str = "en",
        tgt_lang: str = "fr",
        languages: list | None = None,
        train: list | str | None = None,
        val: list | str | None = None,
        test: list | str | None = None,
        tsv_columns: list | None = None,
        tsv_header: bool = False,
        empty_lines: Literal["skip", "error"] = "skip",
        max_length: int = 50,
        src_tokenizer: dict | None = None,
        tgt_tokenizer: dict | None = None,
        batch_size: int = 64,
        eval_batch_size: int = 128,
        num_workers: int = 0,
        max_train_samples: int | None = None,
        max_eval_samples: int | None = None,
        split_seed: int = 1234,
    ):
        super().__init__()
        if data_dir is None:
            raise SeqlabError("dataset.data_dir is not set; point it at the folder of the parallel files")
        if languages is not None:
            known = [str(x) for x in languages]
            for option, code in (("src_lang", src_lang), ("tgt_lang", tgt_lang)):
                if code not in known:
                    raise SeqlabError(f"unknown language code dataset.{option}={code!r} for {name}; "
                                      f"languages: {', '.join(known)}")
        if src_lang == tgt_lang:
            raise SeqlabError(f"dataset.src_lang and dataset.tgt_lang are both {src_lang!r}; "
                              "pick two languages")
        if batch_size < 1 or eval_batch_size < 1:
            raise SeqlabError("dataset.batch_size and dataset.eval_batch_size must be at least 1")
        if not isinstance(max_length, int) or max_length < 1:
            raise SeqlabError(f"dataset.max_length={max_length!r} must be a whole number of at least 1")
        check_sample_caps(max_train_samples, max_eval_samples, "pair")
        columns = list(tsv_columns) if tsv_columns is not None else [0, 1]
        numbers = all(isinstance(c, int) and c >= 0 for c in columns)
        if len(columns) != 2 or not numbers or columns[0] == columns[1]:
            raise SeqlabError(f"dataset.tsv_columns={columns} must be two different column numbers "
                              "[source, target]")
        self.files = {"train": train, "val": val, "test": test}
        for split, files in self.files.items():
            if files is None:
                raise SeqlabError(f"dataset.{split} is not set; give [source file, target file] or one .tsv "
                                  "file")
        self.name, self.data_dir, self.source = name, data_dir, source
        self.src_lang, self.tgt_lang = src_lang, tgt_lang
        self.tsv_columns, self.tsv_header, self.empty_lines = tuple(columns), tsv_header, empty_lines
        self.max_length = max_length
        self.src_options = Seq2SeqTokenizerOptions.from_config(src_tokenizer, "dataset.src_tokenizer")
        self.tgt_options = Seq2SeqTokenizerOptions.from_config(tgt_tokenizer, "dataset.tgt_tokenizer")
        self.batch_size, self.eval_batch_size, self.num_workers = batch_size, eval_batch_size, num_workers
        self.max_train_samples, self.max_eval_samples = max_train_samples, max_eval_samples
        self.split_seed = split_seed
        self.src_tokenizer = self.tgt_tokenizer = None
        self.pairs: dict[str, list[tuple[str, str]]] = {}
        self.encoded: dict[str, tuple[list[list[int]], list[list[int]]]] = {}
        self.report: dict[str, dict[str, int]] = {}

    # -- reading ---------------------------------------------------------------------------------------------
    def _file_names(self, split: str) -> list[str]:
        files = self.files[split]
        return [files] if isinstance(files, str) else [str(f) for f in files]

    def prepare_data(self) -> None:
        ensure_files(self.source, self.data_dir, [f for split in SPLITS for f in self._file_names(split)])

    def setup(self, stage: str | None = None) -> None:
        if self.encoded:
            return
        caps = {"train": self.max_train_samples, "val": self.max_eval_samples, "test": self.max_eval_samples}
        for split in SPLITS:
            files = self.files[split]
            text = read_parallel(files if isinstance(files, str) else list(files), self.data_dir,
                                 self.tsv_columns, self.tsv_header, self.empty_lines, f"dataset.{split}")
            if not text.pairs:
                raise SeqlabError(f"the {split} split ({', '.join(self._file_names(split))} in "
                                  f"{self.data_dir}) has no sentence pairs; check the files or "
                                  f"dataset.{split}")
            self.pairs[split] = text.pairs[: caps[split]] if caps[split] else text.pairs
            self.report[split] = {"pairs": len(self.pairs[split]), "skipped_empty": text.skipped_empty}
        if self.src_tokenizer is None:  # tokenizers restored from a checkpoint are kept
            self.src_tokenizer = train_tokenizer((s for s, _ in self.pairs["train"]), self.src_options)
            self.tgt_tokenizer = train_tokenizer((t for _, t in self.pairs["train"]), self.tgt_options)
        for split in SPLITS:
            pairs = self.pairs[split]
            sources, cut_src = encode(self.src_tokenizer, [s for s, _ in pairs], self.max_length, False)
            targets, cut_tgt = encode(self.tgt_tokenizer, [t for _, t in pairs], self.max_length, True)
            self.encoded[split] = (sources, targets)
            self.report[split].update(truncated_source=len(cut_src), truncated_target=len(cut_tgt))
        self._report_once()

    def _report_once(self) -> None:
        if self.trainer is not None and self.trainer.global_rank != 0:
            return
        skipped = {s: r["skipped_empty"] for s, r in self.report.items() if r["skipped_empty"]}
        if skipped:
            counts = ", ".join(f"{split} {n}" for split, n in skipped.items())
            print(f"{self.name}: left out {sum(skipped.values())} pair(s) with an empty side ({counts}); "
                  "dataset.empty_lines=error rejects them instead", file=sys.stderr)
        cut = {s: (r["truncated_source"], r["truncated_target"]) for s, r in self.report.items()}
        if any(a or b for a, b in cut.values()):
            counts = ", ".join(f"{split} {a}/{b}" for split, (a, b) in cut.items())
            print(f"{self.name}: cut sentences longer than dataset.max_length={self.max_length} tokens "
                  f"(source/target per split: {counts})", file=sys.stderr)

    # -- what the model and task are sized from --------------------------------------------------------------
    MODEL_ARGUMENTS = frozenset({"src_vocab_size", "tgt_vocab_size", "pad_id"})

    def model_kwargs(self) -> dict:
        return {"src_vocab_size": self.src_tokenizer.get_vocab_size(),
                "tgt_vocab_size": self.tgt_tokenizer.get_vocab_size(),
                "pad_id": special_ids(self.tgt_tokenizer)["pad_id"]}

    def task_kwargs(self) -> dict:
        ids = special_ids(self.tgt_tokenizer)
        return {"pad_id": ids["pad_id"], "bos_id": ids["bos_id"], "eos_id": ids["eos_id"]}

    def sources(self, split: str) -> list[str]:
        return [s for s, _ in self.pairs[split]]

    def references(self, split: str) -> list[str]:
        return [t for _, t in self.pairs[split]]

    def detokenize(self, sequences: list[list[int]]) -> list[str]:
        return decode(self.tgt_tokenizer, sequences)

    @property
    def lowercase_target(self) -> bool:
        return self.tgt_options.lowercase

    # -- batches ---------------------------------------------------------------------------------------------
    def _loader(self, split: str, batch_size: int, shuffle: bool) -> DataLoader:
        sources, targets = self.encoded[split]
        trainer = self.trainer
        sampler = LengthGroupedBatchSampler(
            [len(s) for s in sources], batch_size, shuffle, seed=self.split_seed,
            num_replicas=trainer.world_size if trainer else 1, rank=trainer.global_rank if trainer else 0,
        )
        if shuffle:
            self.resume_sampler(sampler, trainer.world_size if trainer else 1)
        collate = PairCollator(sources, targets, special_ids(self.tgt_tokenizer)["pad_id"])
        # a generator of its own: starting an epoch leaves the global random state (dropout masks) untouched
        return DataLoader(list(range(len(sources))), batch_sampler=sampler, collate_fn=collate,
                          num_workers=self.num_workers,
                          generator=torch.Generator().manual_seed(self.split_seed))

    # -- checkpoints: the tokenizers travel with the weights -------------------------------------------------
    def state_dict(self) -> dict:
        return {"source_tokenizer": self.src_tokenizer.to_str() if self.src_tokenizer else None,
                "target_tokenizer": self.tgt_tokenizer.to_str() if self.tgt_tokenizer else None,
                "max_length": self.max_length, "position": training_position(self.trainer)}

    def load_state_dict(self, state: dict) -> None:
        if state.get("source_tokenizer") and state.get("target_tokenizer"):
            self.src_tokenizer = Tokenizer.from_str(state["source_tokenizer"])
            self.tgt_tokenizer = Tokenizer.from_str(state["target_tokenizer"])
        self.restore_position(state)

    def data_files(self) -> list[str]:
        """The files this dataset reads (their sha256 is logged with the run)."""
        folder = Path(self.data_dir).expanduser()
        return [str(folder / name) for split in SPLITS for name in self._file_names(split)]

    def data_splits(self) -> dict[str, tuple[list[str], int]]:
        """Each split's files and sentence pairs."""
        folder = Path(self.data_dir).expanduser()
        return {split: ([str(folder / n) for n in self._file_names(split)], len(self.pairs[split]))
                for split in SPLITS}


class PairCollator:
    """Indices of a batch -> padded source and target tensors."""

    def __init__(self, sources: list[list[int]], targets: list[list[int]], pad_id: int):
        self.sources, self.targets, self.pad_id = sources, targets, pad_id

    def __call__(self, batch: list[int]) -> dict:
        src_ids, src_mask = pad_sequences([self.sources[i] for i in batch], self.pad_id)
        tgt_ids, _ = pad_sequences([self.targets[i] for i in batch], self.pad_id)
        return {"src_ids": src_ids, "src_mask": src_mask, "tgt_ids": tgt_ids, "index": torch.tensor(batch)}
