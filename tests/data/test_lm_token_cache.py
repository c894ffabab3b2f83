"""Language-model corpora encoded once into memory-mapped token ids (data/token_cache.py): the same tokenizer, ids
and blocks as reading and encoding the corpus whole in memory; built once and reused; rebuilt when the corpus or the
tokenizer changes; a build that dies leaves nothing a later run reads."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from seqlab.data import language_model_datamodule, text_corpus, text_tokenizer, token_cache
from seqlab.data.language_model_datamodule import LanguageModelDataModule
from seqlab.data.masked_language_model_datamodule import MaskedLanguageModelDataModule
from seqlab.data.text_corpus import SPLITS
from seqlab.data.text_tokenizer import TextTokenizerOptions, train_text_tokenizer
from seqlab.data.token_blocks import BlockCollator, BlockSampler, TokenBlocks
from seqlab.data.wordpiece_tokenizer import WordPieceOptions, train_wordpiece_tokenizer
from seqlab.errors import SeqlabError

from lm_corpus import play_text

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FRACTIONS = (0.8, 0.1, 0.1)
TOKENIZERS = {"char": {"kind": "char"}, "word": {"kind": "word", "vocab_size": 60},
              "bpe": {"kind": "bpe", "vocab_size": 1000}, "wordpiece": {"kind": "wordpiece", "vocab_size": 120}}


def write_corpus(folder: Path) -> list[Path]:
    """Two plays and, between them, a file with no text (skipped); the train split ends inside the second play."""
    folder.mkdir(exist_ok=True)
    (folder / "a.txt").write_text(play_text(120, seed=1), encoding="utf-8")
    (folder / "b.txt").write_text(" \n\n", encoding="utf-8")
    (folder / "c.txt").write_text(play_text(90, seed=2), encoding="utf-8")
    return [folder / name for name in ("a.txt", "b.txt", "c.txt")]


def datamodule(folder: Path, kind: str = "char", **kwargs) -> LanguageModelDataModule:
    made = MaskedLanguageModelDataModule if kind == "wordpiece" else LanguageModelDataModule
    return made("mine", data_dir=str(folder), files=["*.txt"], split=list(FRACTIONS), block_size=16,
                tokenizer=TOKENIZERS[kind], batch_size=4, eval_batch_size=4, **kwargs)


def in_memory_pieces(paths: list[Path]) -> dict[str, list[str]]:
    """Every file read whole, the texts laid end to end and cut at FRACTIONS of their characters: per split, the
    pieces of files in it."""
    documents = [text for text in (p.read_text(encoding="utf-8") for p in paths) if text.strip()]
    total = sum(map(len, documents))
    cuts = [0, round(total * FRACTIONS[0]), round(total * (FRACTIONS[0] + FRACTIONS[1])), total]
    pieces, position = {split: [] for split in SPLITS}, 0
    for document in documents:
        for i, split in enumerate(SPLITS):
            low, high = max(position, cuts[i]), min(position + len(document), cuts[i + 1])
            if low < high:
                pieces[split].append(document[low - position : high - position])
        position += len(document)
    return pieces


def in_memory_ids(pieces: list[str], tokenizer, separator_id: int) -> list[int]:
    """Each piece encoded whole, the pieces joined by the separator."""
    ids: list[int] = []
    for i, piece in enumerate(pieces):
        ids += ([separator_id] if i else []) + tokenizer.encode(piece, add_special_tokens=False)
    return ids


def stream(made: LanguageModelDataModule, split: str) -> list[int]:
    return made.streams[split][:].tolist()


@pytest.mark.parametrize("kind", list(TOKENIZERS))
def test_memory_mapped_ids_are_those_of_the_corpus_encoded_whole(tmp_path, monkeypatch, kind):
    monkeypatch.setattr(text_corpus, "TEXT_LINES", 3)  # the tokenizer learns from many short texts, cut safely
    paths = write_corpus(tmp_path)
    made = datamodule(tmp_path, kind)
    made.setup()
    pieces = in_memory_pieces(paths)
    assert len(pieces["train"]) == 2 and len(pieces["val"]) == 1  # a separator in train
    if kind == "wordpiece":
        whole = train_wordpiece_tokenizer(pieces["train"], WordPieceOptions(**TOKENIZERS[kind]))
    else:
        whole = train_text_tokenizer(pieces["train"], TextTokenizerOptions(**TOKENIZERS[kind]))
    assert made.tokenizer.backend_tokenizer.to_str() == whole.backend_tokenizer.to_str()
    for split in SPLITS:
        assert stream(made, split) == in_memory_ids(pieces[split], whole, made.separator_id)
    start = "".join(pieces["val"]).lstrip()[:24]
    assert made.prompts == [start.rsplit(" ", 1)[0] if " " in start else start]


def test_the_same_blocks_in_the_same_order_as_from_ids_in_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(text_tokenizer, "CHUNK_LINES", 7)  # encoded in many pieces, two at a time
    monkeypatch.setattr(text_tokenizer, "BATCH_CHUNKS", 2)
    paths = write_corpus(tmp_path)
    made = datamodule(tmp_path)
    made.setup()
    pieces = in_memory_pieces(paths)
    for split, shuffle in (("train", True), ("val", False)):
        ids = torch.tensor(in_memory_ids(pieces[split], made.tokenizer, made.separator_id))
        sampler = BlockSampler(len(ids), made.block_size, shuffle, seed=made.shuffle_seed)
        expected = list(DataLoader(TokenBlocks(ids, made.block_size), batch_size=4, sampler=sampler,
                                   collate_fn=BlockCollator(made.tokenizer.pad_token_id)))
        loader = made.train_dataloader() if shuffle else made.val_dataloader()
        batches = list(loader)
        assert len(batches) == len(expected) > 10
        for batch, want in zip(batches, expected, strict=True):
            assert batch["input_ids"].dtype == torch.long
            assert torch.equal(batch["input_ids"], want["input_ids"]) and torch.equal(batch["labels"], want["labels"])


def test_the_cache_is_built_once_and_again_when_the_corpus_or_the_tokenizer_changes(tmp_path, monkeypatch):
    builds, trainings = [], []
    encode = token_cache.TokenCache._encode
    monkeypatch.setattr(token_cache.TokenCache, "_encode", lambda self, *a: builds.append(1) or encode(self, *a))
    train = language_model_datamodule.train_text_tokenizer
    monkeypatch.setattr(language_model_datamodule, "train_text_tokenizer",
                        lambda *a: trainings.append(1) or train(*a))
    paths = write_corpus(tmp_path / "corpus")
    cache_dir = tmp_path / "cache"
    first = datamodule(paths[0].parent, cache_dir=str(cache_dir))
    first.setup()
    folders = sorted(p for p in cache_dir.iterdir() if p.is_dir())
    assert len(folders) == 1 and {p.name for p in folders[0].iterdir()} == {"train.ids", "val.ids", "test.ids",
                                                                            "meta.json"}
    assert (folders[0] / "train.ids").stat().st_size == 2 * len(first.streams["train"])  # uint16
    written = {str(p): p.stat().st_mtime_ns for p in cache_dir.rglob("*")}

    second = datamodule(paths[0].parent, cache_dir=str(cache_dir))
    second.setup()
    assert builds == trainings == [1]  # neither the ids nor the tokenizer again
    assert {str(p): p.stat().st_mtime_ns for p in cache_dir.rglob("*")} == written
    assert stream(second, "train") == stream(first, "train")
    assert second.tokenizer.get_vocab() == first.tokenizer.get_vocab()

    with paths[2].open("a", encoding="utf-8") as fh:  # another corpus: a new tokenizer and new ids
        fh.write("ROMEO:\nGood night, sweet rose!\n")
    changed = datamodule(paths[0].parent, cache_dir=str(cache_dir))
    changed.setup()
    assert builds == trainings == [1, 1]
    pieces = in_memory_pieces(paths)
    assert stream(changed, "test") == in_memory_ids(pieces["test"], changed.tokenizer, changed.separator_id)
    assert changed.tokenizer.decode(stream(changed, "test")).endswith("\nROMEO:\nGood night, sweet rose!\n")

    words = datamodule(paths[0].parent, "word", cache_dir=str(cache_dir))  # another tokenizer on the same corpus
    words.setup()
    assert len(builds) == len(trainings) == 3
    assert stream(words, "val") == in_memory_ids(pieces["val"], words.tokenizer, words.separator_id)
    assert len([p for p in cache_dir.iterdir() if p.is_dir()]) == 3


def test_a_build_that_dies_leaves_nothing_a_later_run_reads(tmp_path, monkeypatch):
    monkeypatch.setattr(text_tokenizer, "CHUNK_LINES", 20)
    monkeypatch.setattr(text_tokenizer, "BATCH_CHUNKS", 1)
    paths = write_corpus(tmp_path)
    encode = token_cache.encode_text

    def dies_after_a_batch(tokenizer, segments):
        batches = encode(tokenizer, segments)
        yield next(batches)
        raise KeyboardInterrupt  # as Ctrl-C, mid-write

    monkeypatch.setattr(token_cache, "encode_text", dies_after_a_batch)
    with pytest.raises(KeyboardInterrupt):
        datamodule(tmp_path).setup()
    cache_dir = tmp_path / ".cache"
    assert [p.name for p in cache_dir.iterdir()] == [next(cache_dir.glob("*.tokenizer.json")).name]

    monkeypatch.setattr(token_cache, "encode_text", encode)
    made = datamodule(tmp_path)
    made.setup()
    pieces = in_memory_pieces(paths)
    assert stream(made, "train") == in_memory_ids(pieces["train"], made.tokenizer, made.separator_id)


def test_what_a_killed_build_left_is_removed_by_the_next(tmp_path):
    write_corpus(tmp_path)
    datamodule(tmp_path).setup()
    [folder] = [p for p in (tmp_path / ".cache").iterdir() if p.is_dir()]
    ended = subprocess.Popen(["true"])
    ended.wait()  # a process that is gone, as a killed run's
    left = folder.with_name(f".{folder.name}.{socket.gethostname()}-{ended.pid}.partial")
    folder.rename(left)
    (left / "meta.json").unlink()  # killed before it was done
    made = datamodule(tmp_path)
    made.setup()
    assert not left.exists() and (folder / "meta.json").is_file() and len(made.streams["train"]) > 0


def test_a_cache_folder_that_cannot_be_written_names_the_option(tmp_path):
    write_corpus(tmp_path)
    (tmp_path / "taken").write_text("a file, not a folder")
    with pytest.raises(SeqlabError, match=r"cannot write the token cache .*taken.*; set dataset.cache_dir"):
        datamodule(tmp_path, cache_dir=str(tmp_path / "taken" / "cache")).setup()
