"""Language-model data: tokenizers trained on train only, the split by position, blocks at random offsets."""

from __future__ import annotations

import pytest
import torch

from seqlab.data.language_model_datamodule import LanguageModelDataModule
from seqlab.data.text_corpus import TextCorpus
from seqlab.data.text_tokenizer import EOS, UNK, TextTokenizerOptions, encode_text, train_text_tokenizer
from seqlab.data.token_blocks import IGNORE, BlockCollator, BlockSampler, TokenBlocks
from seqlab.errors import SeqlabError

from lm_corpus import play_text

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TEXT = play_text(80)


@pytest.mark.parametrize("kind", ["char", "word", "bpe"])
def test_tokenizers_give_the_text_back(kind):
    tokenizer = train_text_tokenizer([TEXT], TextTokenizerOptions(kind=kind, vocab_size=400))
    ids = encoded(tokenizer, TEXT)
    assert tokenizer.decode(ids) == TEXT
    assert tokenizer.eos_token == tokenizer.pad_token == EOS
    if kind == "char":
        assert len(ids) == len(TEXT)
    else:
        assert len(ids) < len(TEXT) / 2  # words and merges are longer than a character


def test_char_tokenizer_knows_only_what_train_holds():
    tokenizer = train_text_tokenizer(["abc abc\n"], TextTokenizerOptions(kind="char"))
    assert tokenizer.convert_ids_to_tokens(tokenizer.encode("abz", add_special_tokens=False)) == ["a", "b", UNK]
    assert len(tokenizer) == 2 + 5  # end of text, <unk>, then a b c space newline


def test_word_tokenizer_keeps_its_vocabulary_size():
    tokenizer = train_text_tokenizer([TEXT], TextTokenizerOptions(kind="word", vocab_size=20))
    assert len(tokenizer) == 20


def test_bad_tokenizer_options():
    with pytest.raises(SeqlabError, match=r"dataset.tokenizer.kind='chars' is not a valid choice; choices: char"):
        TextTokenizerOptions.from_config({"kind": "chars"})
    with pytest.raises(SeqlabError, match=r"unknown option dataset.tokenizer.lower"):
        TextTokenizerOptions.from_config({"lower": True})


def encoded(tokenizer, text: str) -> list[int]:
    return [i for ids in encode_text(tokenizer, [text]) for i in ids]


def test_the_split_cuts_the_documents_laid_end_to_end(tmp_path):
    texts = {"a": "a" * 20 + "\n" + "a" * 29, "b": "b" * 29, "c": "c\n" * 9 + "c"}  # 50, 30 and 20 characters with LF
    for name, text in texts.items():
        (tmp_path / f"{name}.txt").write_text(text.replace("\n", "\r\n") if name == "b" else text)
    corpus = TextCorpus([tmp_path / f"{name}.txt" for name in texts], None, (0.6, 0.3, 0.1))
    pieces: dict[tuple[str, int], str] = {}
    for split, document, text in corpus.segments():
        pieces[split, document] = pieces.get((split, document), "") + text
    assert pieces == {("train", 0): texts["a"] + "\n", ("train", 1): "b" * 10,
                      ("val", 1): "b" * 19 + "\n", ("val", 2): "c\n" * 5, ("test", 2): "c\n" * 5}
    assert [text for _, _, text in corpus.segments(until="train")] == ["a" * 20 + "\n", "a" * 29 + "\n", "b" * 10]


def test_training_blocks_start_at_a_new_offset_each_epoch_and_repeat_with_the_seed():
    sampler = BlockSampler(n_tokens=1000, block_size=64, shuffle=True, seed=3)
    epochs = []
    for epoch in range(4):
        sampler.set_epoch(epoch)
        epochs.append(sampler.starts())
    assert len({s[0] % 64 for s in epochs}) > 1  # offsets differ
    assert all(len(s) == len(sampler) == (1000 - 64) // 64 for s in epochs)
    assert all(len({x % 64 for x in s}) == 1 and max(s) + 65 <= 1000 for s in epochs)  # one offset, whole blocks
    sampler.set_epoch(2)
    assert sampler.starts() == epochs[2]


def test_evaluation_blocks_predict_every_token_once():
    ids = torch.arange(100)
    sampler = BlockSampler(n_tokens=100, block_size=32, shuffle=False)
    batch = BlockCollator(pad_id=0)([TokenBlocks(ids, 32)[s] for s in sampler])
    labels = batch["labels"][batch["labels"] != IGNORE]
    assert labels.tolist() == list(range(1, 100))
    assert batch["input_ids"].shape == (4, 32) and set(batch) == {"input_ids", "labels"}


@pytest.mark.parametrize("replicas", [1, 2])
def test_a_resumed_epoch_skips_the_blocks_it_trained_on(replicas):
    def sampler(rank: int) -> BlockSampler:
        made = BlockSampler(1000, 64, shuffle=True, seed=3, num_replicas=replicas, rank=rank)
        made.set_epoch(1)
        return made

    for rank in range(replicas):
        whole = list(sampler(rank))
        resumed = sampler(rank)
        resumed.resume_at(1, 5)
        assert list(resumed) == whole[5:] and len(resumed) == len(whole)  # the epoch keeps its length
        assert list(resumed) == whole  # the next epoch is whole again
        other = sampler(rank)
        other.resume_at(0, 5)  # a position in another epoch is not this one's
        assert list(other) == whole


def test_blocks_are_split_across_ranks():
    ranks = [list(BlockSampler(1000, 64, shuffle=False, num_replicas=2, rank=r)) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == 8
    assert set(ranks[0]) | set(ranks[1]) == set(range(0, 1000, 64))


def test_datamodule_joins_files_with_end_of_text_and_trains_the_tokenizer_on_train(tmp_path):
    (tmp_path / "a.txt").write_text("ROMEO:\nGood night.\n" * 40)
    (tmp_path / "b.txt").write_text("JULIET:\nGood day.\n" * 40)
    datamodule = LanguageModelDataModule("mine", data_dir=str(tmp_path), files=["*.txt"], block_size=16,
                                         split=[0.8, 0.1, 0.1])
    datamodule.prepare_data()
    datamodule.setup()
    tokenizer = datamodule.tokenizer
    train = datamodule.streams["train"][:].tolist()
    assert train.count(tokenizer.eos_token_id) == 1  # between the two files
    assert tokenizer.decode(datamodule.streams["test"][:].tolist()).endswith("Good day.\n")
    assert datamodule.prompts and datamodule.prompts[0]  # the start of the validation text
    assert datamodule.task_kwargs()["char_level"] is True
    assert datamodule.model_kwargs() == {"vocab_size": len(tokenizer)}
    assert set(datamodule.model_kwargs()) == LanguageModelDataModule.MODEL_ARGUMENTS


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"files": ["*.md"]}, r"no file in .* matches '\*.md'; fix dataset.files"),
        ({"split": [0.9, 0.1]}, r"dataset.split=\[0.9, 0.1\] must be three positive shares"),
        ({"split": [0.5, 0.2, 0.2]}, r"must add up to 1"),
        ({"block_size": 1}, r"dataset.block_size=1 must be a whole number of at least 2"),
        ({"block_size": 500}, r"the corpus is too short: its train split .* fewer than one block of "
                              r"dataset.block_size=500"),
    ],
)
def test_bad_corpus_settings(tmp_path, kwargs, message):
    (tmp_path / "a.txt").write_text("ROMEO:\nGood night.\n" * 20)
    with pytest.raises(SeqlabError, match=message):
        datamodule = LanguageModelDataModule("mine", data_dir=str(tmp_path), **{"files": ["a.txt"], **kwargs})
        datamodule.setup()


def test_non_utf8_file_names_file_and_line(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"ROMEO:\nGood \xff night.\n")
    with pytest.raises(SeqlabError, match=r"a.txt, line 2: bytes that are not UTF-8"):
        LanguageModelDataModule("mine", data_dir=str(tmp_path), files=["a.txt"]).setup()


def corpus_with_a_late_symbol(folder, symbol: str):
    """A corpus in which `symbol` comes only in the validation share (90-95% of the characters)."""
    text = play_text(200)
    cut = int(len(text) * 0.92)
    (folder / "a.txt").write_text(text[:cut] + f" {symbol} " + text[cut:], encoding="utf-8")
    return LanguageModelDataModule("mine", data_dir=str(folder), files=["a.txt"], block_size=16,
                                   tokenizer={"kind": "bpe", "vocab_size": 600} if len(symbol) > 1 else None)


@pytest.mark.parametrize("symbol", ["§", "zyzzyva"])
def test_the_tokenizer_learns_from_the_train_split_only(tmp_path, symbol):
    datamodule = corpus_with_a_late_symbol(tmp_path, symbol)
    datamodule.setup()
    tokenizer = datamodule.tokenizer
    ids = tokenizer.encode(f" {symbol}", add_special_tokens=False)  # with its space, as the corpus has it
    if len(symbol) == 1:  # char: unknown
        assert ids == [tokenizer.convert_tokens_to_ids(" "), tokenizer.unk_token_id]
    else:  # byte-level BPE: spelt in smaller pieces, never one learned token
        assert len(ids) > 2 and tokenizer.decode(ids) == f" {symbol}"
        assert tokenizer.decode(datamodule.streams["val"][:].tolist()).count(symbol) == 1  # val does hold it


def test_a_checkpoint_keeps_the_tokenizer_and_the_position(tmp_path):
    datamodule = corpus_with_a_late_symbol(tmp_path, "zyzzyva")
    datamodule.setup()
    state = torch.load(_saved(datamodule.state_dict(), tmp_path), weights_only=True)  # as checkpoints load
    (tmp_path / "a.txt").write_text("zyzzyva zyzzyva. " * 400, encoding="utf-8")  # a new tokenizer would differ
    restored = LanguageModelDataModule("mine", data_dir=str(tmp_path), files=["a.txt"], block_size=16,
                                       tokenizer={"kind": "bpe", "vocab_size": 600})
    restored.load_state_dict({**state, "position": [0, 3]})
    restored.setup()
    assert restored.tokenizer.get_vocab() == datamodule.tokenizer.get_vocab()
    assert restored.tokenizer.eos_token_id == datamodule.tokenizer.eos_token_id
    assert restored.resume_position == (0, 3)
    resumed = restored.train_dataloader()
    restored.resume_position = None
    whole = restored.train_dataloader()
    assert len(resumed) == len(whole) and len(list(resumed)) == len(list(whole)) - 3


def _saved(state: dict, folder):
    torch.save(state, folder / "state.pt")
    return folder / "state.pt"
