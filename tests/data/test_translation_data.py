"""Parallel text in, token ids out: each kind of bad input ends in one clear message; tokenizers detokenize exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqlab.data.parallel_readers import read_parallel
from seqlab.data.seq2seq_tokenizers import (
    Seq2SeqTokenizerOptions,
    decode,
    display_tokens,
    encode,
    special_ids,
    train_tokenizer,
)
from seqlab.data.translation_datamodule import TranslationDataModule
from seqlab.errors import SeqlabError

from conftest import write_multi30k_layout

CAPTIONS = ["Two young, White males are outside near many bushes.", "A little girl climbing into a wooden playhouse.",
            "A man in a blue shirt is standing on a ladder (cleaning a window)!", "Ein Mann's Hut: rot & groß?"]


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


def multi30k(data_dir: Path, **options) -> TranslationDataModule:
    src, tgt = options.pop("src_lang", "en"), options.pop("tgt_lang", "fr")
    files = {split: [f"{prefix}.{src}", f"{prefix}.{tgt}"]
             for split, prefix in (("train", "train"), ("val", "val"), ("test", "test_2016_flickr"))}
    return TranslationDataModule("multi30k", data_dir=str(data_dir), src_lang=src, tgt_lang=tgt,
                                 languages=["en", "de", "fr"], **{**files, **options})


@pytest.mark.parametrize("kind", ["word", "bpe"])
def test_tokenizers_give_back_the_text_as_written(kind):
    tokenizer = train_tokenizer(CAPTIONS * 3, Seq2SeqTokenizerOptions(kind=kind, vocab_size=400, min_frequency=1))
    ids = special_ids(tokenizer)
    assert (ids["pad_id"], ids["unk_id"], ids["bos_id"], ids["eos_id"]) == (0, 1, 2, 3)
    encoded, cut = encode(tokenizer, CAPTIONS, max_length=100, bos=True)
    assert cut == [] and all(e[0] == ids["bos_id"] and e[-1] == ids["eos_id"] for e in encoded)
    assert decode(tokenizer, encoded) == CAPTIONS
    tokens = display_tokens(tokenizer, encode(tokenizer, ["A man, riding."], 100, bos=False)[0][0])
    assert tokens[-1] == "<eos>" and "," in tokens and "." in tokens
    shortened, cut = encode(tokenizer, CAPTIONS, max_length=5, bos=False)
    assert cut == [0, 1, 2, 3] and all(len(ids) == 5 + 1 for ids in shortened)


def test_word_tokenizer_leaves_rare_words_out():
    tokenizer = train_tokenizer(["a dog runs", "a dog sits", "zebra"], Seq2SeqTokenizerOptions(kind="word"))
    [ids], _ = encode(tokenizer, ["a zebra runs"], 10, bos=False)
    assert ids.count(special_ids(tokenizer)["unk_id"]) == 2  # zebra and runs were seen once


def test_tokenizer_options_are_checked():
    with pytest.raises(SeqlabError, match=r"src_tokenizer.kind='chars' is not a valid choice; choices: word, bpe"):
        Seq2SeqTokenizerOptions.from_config({"kind": "chars"}, "dataset.src_tokenizer")
    with pytest.raises(SeqlabError, match=r"unknown option dataset.tgt_tokenizer.vocab; options: kind, lowercase"):
        Seq2SeqTokenizerOptions.from_config({"vocab": 10}, "dataset.tgt_tokenizer")


def test_files_of_different_line_counts_name_both_counts(tmp_path):
    write(tmp_path, "a.en", "one\ntwo\nthree\n")
    write(tmp_path, "a.fr", "un\ndeux\n")
    with pytest.raises(SeqlabError, match=r"a.en has 3 lines and .*a.fr has 2; line i of one must translate"):
        read_parallel(["a.en", "a.fr"], tmp_path)


def test_empty_lines_are_skipped_and_counted_or_rejected(tmp_path):
    write(tmp_path, "a.en", "one\n\nthree\nfour\n")
    write(tmp_path, "a.fr", "un\ndeux\ntrois\n \n")
    text = read_parallel(["a.en", "a.fr"], tmp_path, empty_lines="skip")
    assert text.pairs == [("one", "un"), ("three", "trois")] and text.skipped_empty == 2
    with pytest.raises(SeqlabError, match=r"a.en, line 2: empty source sentence; .*dataset.empty_lines=skip"):
        read_parallel(["a.en", "a.fr"], tmp_path, empty_lines="error")


def test_tsv_pairs_with_columns_header_and_bad_lines(tmp_path):
    write(tmp_path, "pairs.tsv", "en\tes\tlicense\nGo.\tVe.\tCC\nHi.\tHola.\tCC\n")
    text = read_parallel("pairs.tsv", tmp_path, tsv_columns=(0, 1), tsv_header=True)
    assert text.pairs == [("Go.", "Ve."), ("Hi.", "Hola.")]
    assert read_parallel("pairs.tsv", tmp_path, tsv_columns=(1, 0), tsv_header=True).pairs[0] == ("Ve.", "Go.")
    write(tmp_path, "bad.tsv", "Go.\tVe.\nHi. Hola.\n")
    with pytest.raises(SeqlabError, match=r"bad.tsv, line 2: 1 tab-separated field\(s\) where source and target"):
        read_parallel("bad.tsv", tmp_path)
    write(tmp_path, "pairs.txt", "Go.\tVe.\n")
    with pytest.raises(SeqlabError, match=r"must be a .tsv"):
        read_parallel("pairs.txt", tmp_path)


def test_unknown_language_code_lists_the_languages(tmp_path):
    with pytest.raises(SeqlabError, match=r"language code dataset.tgt_lang='es' for multi30k; languages: en, de, fr"):
        multi30k(tmp_path, tgt_lang="es")
    with pytest.raises(SeqlabError, match=r"both 'de'; pick two languages"):
        multi30k(tmp_path, src_lang="de", tgt_lang="de")


def test_long_sentences_are_cut_counted_and_reported_once(tmp_path, capsys):
    folder = write_multi30k_layout(tmp_path / "multi30k", n_train=40, n_val=10, n_test=10)
    datamodule = multi30k(folder, src_lang="de", tgt_lang="en", max_length=4)
    datamodule.setup("fit")
    sources, targets = datamodule.encoded["train"]
    assert max(len(s) for s in sources) == 4 + 1 and max(len(t) for t in targets) == 4 + 2  # <eos>; <bos> <eos>
    report = datamodule.report["train"]
    assert report["pairs"] == 40 and 0 < report["truncated_source"] <= 40 and report["truncated_target"] > 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "max_length" in line]
    assert len(lines) == 1 and "dataset.max_length=4" in lines[0] and f"train {report['truncated_source']}/" in lines[0]
    assert datamodule.references("val")[0].endswith(".")  # references stay whole


def test_batches_hold_padded_sources_and_targets(tmp_path):
    folder = write_multi30k_layout(tmp_path / "multi30k", n_train=40, n_val=10, n_test=10)
    datamodule = multi30k(folder, batch_size=8, src_tokenizer={"kind": "word", "min_frequency": 1})
    datamodule.setup("fit")
    batch = next(iter(datamodule.train_dataloader()))
    assert batch["src_ids"].shape == batch["src_mask"].shape and len(batch["index"]) == 8
    assert (batch["tgt_ids"][:, 0] == 2).all() and (batch["src_ids"][~batch["src_mask"]] == 0).all()
    kwargs = datamodule.model_kwargs()
    assert set(kwargs) == TranslationDataModule.MODEL_ARGUMENTS  # what the config check leaves out of the options
    assert kwargs["src_vocab_size"] == datamodule.src_tokenizer.get_vocab_size() and kwargs["pad_id"] == 0
    assert datamodule.task_kwargs() == {"pad_id": 0, "bos_id": 2, "eos_id": 3}


@pytest.mark.parametrize("kind", ["word", "bpe"])
def test_tokenizers_learn_from_the_train_split_only(tmp_path, kind):
    folder = write_multi30k_layout(tmp_path / "multi30k", n_train=40, n_val=10, n_test=10)
    for name in ("val.en", "val.fr"):  # a word that only validation holds
        lines = (folder / name).read_text(encoding="utf-8").splitlines()
        (folder / name).write_text("\n".join(["Zyzzyva zyzzyva."] * 3 + lines) + "\n", encoding="utf-8")
    options = {"kind": kind, "min_frequency": 1}
    datamodule = multi30k(folder, src_tokenizer=options, tgt_tokenizer=options)
    datamodule.setup("fit")
    for tokenizer in (datamodule.src_tokenizer, datamodule.tgt_tokenizer):
        ids = tokenizer.encode("zyzzyva", add_special_tokens=False).ids
        if kind == "word":
            assert ids == [special_ids(tokenizer)["unk_id"]]
        else:  # spelt in pieces the train split taught, never one learned token
            assert len(ids) > 1 and all("zyzzyva" not in token for token in tokenizer.get_vocab())
