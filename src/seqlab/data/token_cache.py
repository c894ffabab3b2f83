"""A text corpus's token ids, encoded once into files that training reads memory-mapped."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import json
import os
import shutil
import socket
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import tokenizers
import torch

from seqlab.data.text_corpus import SPLITS, TextCorpus, TrainText
from seqlab.data.text_tokenizer import CHUNK_LINES, encode_text
from seqlab.errors import SeqlabError
from seqlab.tracking.datasets import file_sha256

CACHE_VERSION = 1  # changes whenever what the cache holds, or how its ids are made, does
META = "meta.json"
OPENING_CHARS = 64  # of the validation text (its leading whitespace left out), kept for the sample prompt


class TokenIds:
    """One split's token ids in their file, memory-mapped when first read (so that a DataLoader worker maps
    the file itself rather than receiving a copy): len(), and a slice as an int64 tensor."""

    def __init__(self, path: Path, dtype: str, length: int):
        self.path, self.dtype, self.length = path, dtype, length
        self._ids: np.ndarray | None = None

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: slice) -> torch.Tensor:
        if self._ids is None:
            self._ids = (np.memmap(self.path, dtype=self.dtype, mode="r", shape=(self.length,)) if self.length
                         else np.zeros(0, dtype=self.dtype))  # an empty file cannot be mapped
        return torch.from_numpy(np.array(self._ids[index], dtype=np.int64))

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_ids": None}


class TokenCache:
    """The cache of one corpus (dataset `name`) in cache_dir: its trained tokenizers and its token ids. Memory
    stays flat however large the corpus, and a second run reads neither the corpus nor trains its tokenizer
    again.

        <cache_dir>/<name>-<key>/                {train,val,test}.ids (uint16 where the vocabulary fits, else
                                                 uint32), meta.json (their dtype and lengths, the opening of
                                                 the validation text)
        <cache_dir>/<name>-<key>.tokenizer.json  a tokenizer trained on the corpus's train split

    The ids' key is the corpus (its files' sha256, in order; the text column; the split shares), the tokenizer
    (the sha256 of its serialized form) and the separator between documents; the trained tokenizer's is the
    corpus and the tokenizer options. The corpus is encoded as a stream, a few thousand lines at a time; each
    split's ids are the same, and in the same order, as encoding its pieces whole and joining them by the
    separator. Everything is written under a temporary name and renamed into place whole, so that a killed
    build leaves nothing a later run reads (its partial folder is removed by the next build on the machine);
    of two runs building at once (sweep trials, DDP ranks) the first to finish is kept. The folder is safe to
    delete: whatever is missing is built again.
    """

    def __init__(self, cache_dir: Path, name: str, corpus: TextCorpus):
        for path in corpus.paths:
            if not path.is_file():
                raise SeqlabError(f"file {path} does not exist")
        self.cache_dir, self.name, self.corpus = cache_dir, name, corpus
        try:  # before any work that could not be kept
            cache_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise _unwritable(cache_dir, err) from None
        files = [file_sha256(str(p)) for p in corpus.paths]
        self.corpus_key = _digest([CACHE_VERSION, files, corpus.text_column, corpus.fractions])

    def tokenizer(self, options, train: Callable[[Iterable[str]], object], from_str: Callable[[str], object]):
        """The tokenizer `train` makes of the train split with `options` (a dataclass): the cached one, else
        trained on the corpus (read as a stream) and cached."""
        key = _digest([self.corpus_key, type(options).__name__, dataclasses.asdict(options),
                       tokenizers.__version__])
        path = self.cache_dir / f"{self.name}-{key[:16]}.tokenizer.json"
        if path.is_file():
            return from_str(path.read_text(encoding="utf-8"))
        tokenizer = train(TrainText(self.corpus))
        with self._writing(path) as partial:
            partial.write_text(tokenizer.backend_tokenizer.to_str(), encoding="utf-8")
        return tokenizer

    def token_ids(self, tokenizer, separator_id: int) -> tuple[dict[str, TokenIds], str]:
        """Each split's ids, memory-mapped (built first where the cache lacks them), and the opening of the
        validation text."""
        key = _digest([self.corpus_key, tokenizer_digest(tokenizer), separator_id, CHUNK_LINES,
                       tokenizers.__version__])
        folder = self.cache_dir / f"{self.name}-{key[:16]}"
        if not (folder / META).is_file():
            if folder.is_dir() and not (folder / META).is_file():  # put in place whole, then broken by hand
                _remove(folder)
            with self._writing(folder) as partial:
                partial.mkdir()
                self._encode(partial, tokenizer, separator_id)
        meta = json.loads((folder / META).read_text())
        ids = {split: TokenIds(folder / f"{split}.ids", meta["dtype"], meta["tokens"][split])
               for split in SPLITS}
        return ids, meta["val_opening"]

    def _encode(self, folder: Path, tokenizer, separator_id: int) -> None:
        """Each split's pieces of documents encoded, joined by `separator_id`, into folder/<split>.ids; then
        meta.json."""
        dtype = np.dtype(np.uint16 if len(tokenizer) <= 1 << 16 else np.uint32)
        tokens, pieces, opening = dict.fromkeys(SPLITS, 0), dict.fromkeys(SPLITS, 0), ""

        def noting_the_opening(texts: Iterable[str]) -> Iterator[str]:
            nonlocal opening
            for text in texts:
                if len(opening) < OPENING_CHARS:
                    opening = (opening + text).lstrip()[:OPENING_CHARS]
                yield text

        with contextlib.ExitStack() as files:
            sinks = {split: files.enter_context(open(folder / f"{split}.ids", "wb")) for split in SPLITS}
            pieces_in_order = itertools.groupby(self.corpus.segments(), key=lambda segment: segment[:2])
            for (split, _), piece in pieces_in_order:
                texts = (text for _, _, text in piece)
                batches = encode_text(tokenizer, noting_the_opening(texts) if split == "val" else texts)
                if pieces[split]:
                    batches = itertools.chain([[separator_id]], batches)
                pieces[split] += 1
                for ids in batches:
                    sinks[split].write(np.asarray(ids, dtype=dtype).tobytes())
                    tokens[split] += len(ids)
            for sink in sinks.values():
                sink.flush()
                os.fsync(sink.fileno())
        meta = {"version": CACHE_VERSION, "dtype": dtype.name, "tokens": tokens, "val_opening": opening,
                "files": [str(path) for path in self.corpus.paths]}
        (folder / META).write_text(json.dumps(meta, indent=2))

    @contextlib.contextmanager
    def _writing(self, target: Path):
        """A temporary path beside `target` to write it at, renamed to `target` when the block ends without an
        error and removed when it does not. Another run's `target`, put in place meanwhile, is kept."""
        partial = target.with_name(f".{target.name}.{socket.gethostname()}-{os.getpid()}.partial")
        try:
            _remove_abandoned(target)
            try:
                yield partial
                if partial.is_dir():
                    os.rename(partial, target)  # fails where another run's folder is in place
                else:
                    os.replace(partial, target)
            except OSError:
                if not target.exists():
                    raise
        except OSError as err:
            raise _unwritable(target, err) from None
        finally:
            _remove(partial)


def tokenizer_digest(tokenizer) -> str:
    """The sha256 of the tokenizer's serialized form (of its class, name and vocabulary where it has no Rust
    backend to serialize)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        form = backend.to_str()
    else:
        vocabulary = sorted(tokenizer.get_vocab().items())
        form = json.dumps([type(tokenizer).__name__, tokenizer.name_or_path, vocabulary])
    return hashlib.sha256(form.encode()).hexdigest()


def _unwritable(path: Path, err: OSError) -> SeqlabError:
    return SeqlabError(f"cannot write the token cache {path} ({err.strerror or err}); set dataset.cache_dir "
                       "to a folder you can write")


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def _remove_abandoned(target: Path) -> None:
    """Partial copies of `target` that runs on this machine left when they were killed (their process is
    gone)."""
    for partial in target.parent.glob(f".{target.name}.{socket.gethostname()}-*.partial"):
        pid = partial.name.rsplit("-", 1)[-1].removesuffix(".partial")
        if pid.isdigit() and (int(pid) == os.getpid() or not _running(int(pid))):
            _remove(partial)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()
