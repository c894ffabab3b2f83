"""Plain text for language modelling: Tiny Shakespeare or any UTF-8 corpus."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader

from seqlab.data.download import ensure_files
from seqlab.data.options import check_sample_caps
from seqlab.data.split_loaders import SplitLoaders, training_position
from seqlab.data.text_corpus import TextCorpus, check_fractions, corpus_paths, is_pattern
from seqlab.data.text_tokenizer import TextTokenizerOptions, tokenizer_from_str, train_text_tokenizer
from seqlab.data.token_blocks import BlockCollator, BlockSampler, TokenBlocks
from seqlab.data.token_cache import TokenCache, TokenIds
from seqlab.errors import SeqlabError
from seqlab.pretrained.transformers_models import load_tokenizer

PROMPT_CHARS = 24  # default sample prompt: the start of the validation text, up to this many characters


class LanguageModelDataModule(SplitLoaders, L.LightningDataModule):
    """Reads the documents (plain text, or one column of tsv/csv/jsonl tables: text_column) as a stream,
    splits them by position (train / val / test shares of the characters), trains the tokenizer on train only
    (or loads a pretrained model's), encodes each split into one token stream (documents joined by the
    end-of-text token), kept in memory-mapped files under cache_dir (token_cache: built once per corpus and
    tokenizer, so that memory stays flat however large the corpus), and serves contiguous blocks:
    {input_ids [B, T], labels [B, T]}. Checkpoints keep the trained tokenizer and the position in the epoch's
    blocks, so that a resumed run goes on exactly where it stopped. The masked-LM datamodule changes the
    tokenizer, the separator and the blocks (masked_language_model_datamodule)."""

    task_name = "language_model"
    options_class = TextTokenizerOptions  # of dataset.tokenizer

    def __init__(
        self,
        name: str,
        data_dir: str | None = None,
        source: str | None = None,
        files: list | None = None,
        text_column: str | None = None,
        split: list | None = None,
        block_size: int = 256,
        tokenizer: dict | None = None,
        sample_prompts: list | None = None,
        batch_size: int = 64,
        eval_batch_size: int = 64,
        num_workers: int = 0,
        shuffle_seed: int = 1234,
        max_train_samples: int | None = None,
        max_eval_samples: int | None = None,
        cache_dir: str | None = None,
    ):
        super().__init__()
        if data_dir is None:
            raise SeqlabError("dataset.data_dir is not set; point it at the folder of your text files")
        if not files:
            raise SeqlabError("dataset.files is empty; list file names or patterns such as '*.txt'")
        if not isinstance(block_size, int) or block_size < 2:
            raise SeqlabError(f"dataset.block_size={block_size} must be a whole number of at least 2")
        if batch_size < 1 or eval_batch_size < 1:
            raise SeqlabError("dataset.batch_size and dataset.eval_batch_size must be at least 1")
        check_sample_caps(max_train_samples, max_eval_samples, "block")
        self.name, self.data_dir, self.source = name, data_dir, source
        self.files = [str(f) for f in files]
        self.text_column = text_column
        self.fractions = check_fractions(list(split or (0.9, 0.05, 0.05)))
        self.block_size = block_size
        self.tokenizer_options = self.options_class.from_config(tokenizer)
        self.prompts = [str(p) for p in sample_prompts] if sample_prompts else None
        self.batch_size, self.eval_batch_size, self.num_workers = batch_size, eval_batch_size, num_workers
        self.shuffle_seed = shuffle_seed
        self.max_train_samples, self.max_eval_samples = max_train_samples, max_eval_samples
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else Path(data_dir).expanduser() / ".cache"
        self.tokenizer = None
        self.streams: dict[str, TokenIds] = {}

    @property
    def char_level(self) -> bool:
        return self.tokenizer_options.kind == "char" and not self.tokenizer_options.pretrained

    # -- reading -------------------------------------------------------------------------------------------
    def prepare_data(self) -> None:
        ensure_files(self.source, self.data_dir, [f for f in self.files if not is_pattern(f)])

    def setup(self, stage: str | None = None) -> None:
        if self.streams:
            return
        paths = corpus_paths(self.data_dir, self.files)
        cache = TokenCache(self.cache_dir, self.name, TextCorpus(paths, self.text_column, self.fractions))
        if self.tokenizer is None:  # a tokenizer restored from a checkpoint is kept
            if self.tokenizer_options.pretrained:
                self.tokenizer = load_tokenizer(self.tokenizer_options.pretrained)
            else:
                self.tokenizer = cache.tokenizer(self.tokenizer_options, self._train_tokenizer,
                                                 self._tokenizer_from_str)
        self.streams, val_opening = cache.token_ids(self.tokenizer, self.separator_id)
        self._check_lengths(paths)
        if self.prompts is None:
            start = val_opening[:PROMPT_CHARS]
            self.prompts = [start.rsplit(" ", 1)[0] if " " in start else start]

    # -- what a masked-LM datamodule does otherwise ----------------------------------------------------------
    def _train_tokenizer(self, texts: Iterable[str]):
        return train_text_tokenizer(texts, self.tokenizer_options)

    def _tokenizer_from_str(self, text: str):
        return tokenizer_from_str(text)

    @property
    def separator_id(self) -> int:
        """The token between documents: end of text."""
        return self.tokenizer.eos_token_id

    @property
    def block_stride(self) -> int:
        """Tokens of the stream between one block's start and the next's: block_size (each block also reads
        the successor of its last token)."""
        return self.block_size

    def _check_lengths(self, paths) -> None:
        corpus = ", ".join(str(p) for p in paths[:3]) + (", ..." if len(paths) > 3 else "")
        train = len(self.streams["train"])
        if train < self.block_stride + 1:
            raise SeqlabError(
                f"the corpus is too short: its train split ({self.fractions[0]:.0%} of {corpus}) has {train} "
                f"tokens, fewer than one block of dataset.block_size={self.block_size} needs "
                f"({self.block_stride + 1}); use a longer corpus or a smaller dataset.block_size"
            )
        for split_name in ("val", "test"):
            if len(self.streams[split_name]) < 2:
                raise SeqlabError(
                    f"the {split_name} split of {corpus} has fewer than 2 tokens; use a longer corpus or a "
                    "larger share for it in dataset.split"
                )

    # -- what the model and task are sized from --------------------------------------------------------------
    MODEL_ARGUMENTS = frozenset({"vocab_size"})

    def model_kwargs(self) -> dict:
        return {"vocab_size": len(self.tokenizer)}

    def task_kwargs(self) -> dict:
        return {"char_level": self.char_level, "sample_prompts": self.prompts}

    # -- batches ---------------------------------------------------------------------------------------------
    def _loader(self, split: str, batch_size: int, shuffle: bool) -> DataLoader:
        stream, trainer = self.streams[split], self.trainer
        cap = self.max_train_samples if split == "train" else self.max_eval_samples
        sampler = BlockSampler(
            len(stream), self.block_stride, shuffle, seed=self.shuffle_seed, max_blocks=cap,
            num_replicas=trainer.world_size if trainer else 1, rank=trainer.global_rank if trainer else 0,
        )
        if shuffle and trainer is not None:
            sampler.set_epoch(trainer.current_epoch)
        if shuffle:
            self.resume_sampler(sampler, trainer.world_size if trainer is not None else 1, unit=batch_size)
        # a generator of its own: starting an epoch leaves the global random state (dropout masks) untouched
        return DataLoader(self._blocks(stream), batch_size=batch_size, sampler=sampler,
                          collate_fn=self._collator(sampler), num_workers=self.num_workers,
                          generator=torch.Generator().manual_seed(self.shuffle_seed))

    def _blocks(self, stream: TokenIds):
        return TokenBlocks(stream, self.block_size)

    def _collator(self, sampler: BlockSampler):
        return BlockCollator(self.tokenizer.pad_token_id)

    # -- checkpoints: the tokenizer and the position in the epoch travel with the weights --------------------
    def state_dict(self) -> dict:
        # a pretrained tokenizer reloads by its name
        trained = self.tokenizer is not None and not self.tokenizer_options.pretrained
        return {"tokenizer": self.tokenizer.backend_tokenizer.to_str() if trained else None,
                "position": training_position(self.trainer)}

    def load_state_dict(self, state: dict) -> None:
        if state.get("tokenizer"):
            self.tokenizer = self._tokenizer_from_str(state["tokenizer"])
        self.restore_position(state)

    def data_files(self) -> list[str]:
        """The files this dataset reads (their sha256 is logged with the run)."""
        return [str(path) for path in corpus_paths(self.data_dir, self.files)]

    def data_splits(self) -> dict[str, tuple[list[str], int]]:
        """Each split's files (every split is a share of the whole corpus, by position) and tokens."""
        return {split: (self.data_files(), len(stream)) for split, stream in self.streams.items()}
