"""Readers, the word tokenizer, length-grouped batching and the downloader, each on its own."""

from __future__ import annotations

import socket
from collections import Counter

import pytest

from seqlab.data import download
from seqlab.data.batching import LengthGroupedBatchSampler, pad_sequences
from seqlab.data.readers import read_table, read_utf8_lines
from seqlab.data.word_tokenizer import PAD, UNK, WordTokenizerOptions, encode_texts, train_word_tokenizer
from seqlab.errors import SeqlabError

from conftest import needs_mirror, pin_sha256, real_mirror

COLUMNS = {"text": "dataset.text_column", "label": "dataset.label_column"}


def write(tmp_path, name: str, content: str | bytes):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def test_tsv_csv_and_jsonl_give_the_same_rows(tmp_path):
    tsv = write(tmp_path, "a.tsv", "label\ttext\npos\ta \"quoted\" film\nneg\tdull\n\n")
    csv = write(tmp_path, "a.csv", 'text,label\n"a ""quoted"" film",pos\n"dull",neg\n')
    records = '{"text": "a \\"quoted\\" film", "label": "pos"}\n\n{"text": "dull", "label": "neg"}\n'
    jsonl = write(tmp_path, "a.jsonl", records)
    expected = [{"text": 'a "quoted" film', "label": "pos"}, {"text": "dull", "label": "neg"}]
    for path in (tsv, csv, jsonl):
        assert read_table(path, None, COLUMNS) == expected


def test_csv_fields_may_span_lines_and_errors_name_the_starting_line(tmp_path):
    path = write(tmp_path, "a.csv", 'text,label\n"two\nlines",pos\nthree,fields,here\n')
    with pytest.raises(SeqlabError, match=r"a.csv, line 4: 3 fields where the header has 2 \(text, label\)"):
        read_table(path, None, COLUMNS)


@pytest.mark.parametrize("name, text, line, column", [
    ("a.tsv", "text\tlabel\ngood\tpos\nokay movie\t\n", 3, "label"),
    ("a.csv", 'text,label\ngood,pos\n"  ",neg\n', 3, "text"),
    ("a.jsonl", '{"text": "x", "label": "pos"}\n{"text": "y", "label": " "}\n', 2, "label"),
])
def test_an_empty_text_or_label_is_named_with_its_line(tmp_path, name, text, line, column):
    """An empty label would otherwise become a class of its own."""
    path = write(tmp_path, name, text)
    with pytest.raises(SeqlabError, match=rf"{name}, line {line}: the column '{column}' is empty; fill it in"):
        read_table(path, None, COLUMNS)


def test_jsonl_labels_of_any_type_become_strings_and_a_missing_value_is_named(tmp_path):
    path = write(tmp_path, "a.jsonl", '{"text": "x", "label": 1}\n{"text": "y"}\n')
    with pytest.raises(SeqlabError, match=r"a.jsonl, line 2: no value for column 'label'"):
        read_table(path, None, COLUMNS)
    path = write(tmp_path, "b.jsonl", '{"text": "x", "label": 1}\n[1, 2]\n')
    with pytest.raises(SeqlabError, match=r"b.jsonl, line 2: expected a JSON object, found list"):
        read_table(path, None, COLUMNS)


@pytest.mark.parametrize("line, message", [
    ('{"text": "caf\\ud800", "label": "x"}', r"c.jsonl, line 1: the escape \\ud800 is half of a character"),
    ("[" * 50000 + "]" * 50000, r"c.jsonl, line 1: JSON nested too deeply"),
])
def test_jsonl_that_no_text_can_hold_is_named(tmp_path, line, message):
    path = write(tmp_path, "c.jsonl", line + "\n")
    with pytest.raises(SeqlabError, match=message):
        read_table(path, None, COLUMNS)


def test_format_comes_from_the_extension_or_the_config(tmp_path):
    path = write(tmp_path, "a.txt", "text\tlabel\nx\ty\n")
    with pytest.raises(SeqlabError, match=r"cannot tell the format of .*a.txt .*set dataset.format"):
        read_table(path, None, COLUMNS)
    assert read_table(path, "tsv", COLUMNS) == [{"text": "x", "label": "y"}]
    with pytest.raises(SeqlabError, match=r"dataset.format='xml' is not a valid choice"):
        read_table(path, "xml", COLUMNS)


def test_utf8_lines_drop_the_byte_order_mark_and_name_bad_bytes(tmp_path):
    assert read_utf8_lines(write(tmp_path, "a.txt", "\ufeffone\r\ntwo\n")) == ["one", "two"]
    with pytest.raises(SeqlabError, match=r"b.txt, line 2: bytes that are not UTF-8"):
        read_utf8_lines(write(tmp_path, "b.txt", b"fine\n\xff\xfe broken\n"))
    with pytest.raises(SeqlabError, match=r"does not exist"):
        read_utf8_lines(tmp_path / "missing.txt")


def test_tokenizer_learns_from_its_texts_only_and_keeps_special_ids():
    options = WordTokenizerOptions.from_config({"min_frequency": 2, "max_length": 3, "split": "whitespace"})
    tokenizer = train_word_tokenizer(["A good film", "a good plot", "rare"], options)
    assert tokenizer.token_to_id(PAD) == 0 and tokenizer.token_to_id(UNK) == 1
    assert set(tokenizer.get_vocab()) == {PAD, UNK, "a", "good"}  # lowercased; seen once -> <unk>
    [ids] = encode_texts(tokenizer, ["a good film is good"])
    assert ids == [tokenizer.token_to_id("a"), tokenizer.token_to_id("good"), 1]  # truncated to 3
    assert encode_texts(tokenizer, [""]) == [[1]]  # an empty text still has one token


def test_tokenizer_options_are_checked():
    with pytest.raises(SeqlabError, match=r"unknown option dataset.tokenizer.lower; options: lowercase"):
        WordTokenizerOptions.from_config({"lower": True})
    with pytest.raises(SeqlabError, match=r"dataset.tokenizer.split='chars' is not a valid choice"):
        WordTokenizerOptions.from_config({"split": "chars"})
    with pytest.raises(SeqlabError, match=r"dataset.tokenizer.max_length must be a whole number"):
        WordTokenizerOptions.from_config({"max_length": 0})


def test_pad_sequences():
    ids, mask = pad_sequences([[4, 5, 6], [7]], pad_id=0)
    assert ids.tolist() == [[4, 5, 6], [7, 0, 0]]
    assert mask.tolist() == [[True, True, True], [True, False, False]]


def test_training_batches_cover_every_example_once_grouped_by_length_and_seeded():
    lengths = [(i * 37) % 101 + 1 for i in range(1000)]
    sampler = LengthGroupedBatchSampler(lengths, 16, shuffle=True, seed=3)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 63
    assert sorted(i for b in batches for i in b) == list(range(1000))
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)
    assert spread < 15  # random batches of 16 would span most of 1..101
    assert list(sampler) == batches  # same seed and epoch: same batches
    sampler.set_epoch(1)
    assert list(sampler) != batches


def test_evaluation_batches_are_sorted_and_ranks_take_equal_shares():
    lengths = [5, 1, 4, 2, 3, 6, 7]
    assert list(LengthGroupedBatchSampler(lengths, 3, shuffle=False)) == [[1, 3, 4], [2, 0, 5], [6]]
    ranks = [list(LengthGroupedBatchSampler(lengths, 2, shuffle=False, num_replicas=3, rank=r)) for r in range(3)]
    assert {len(r) for r in ranks} == {2}  # the short rank repeats a batch to keep in step
    assert set(Counter(i for r in ranks for b in r for i in b)) == set(range(7))


def test_a_mirror_folder_feeds_the_downloader_and_bad_files_are_refused(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    write((mirror / "sst2").mkdir(parents=True) or mirror / "sst2", "train.tsv", "sentence\tlabel\ngood \t1\n")
    write(mirror / "sst2", "dev.tsv", "text,label\n")
    pin_sha256(monkeypatch, mirror / "sst2")
    monkeypatch.setenv("SEQLAB_DATA_MIRROR", str(mirror))
    folder = download.ensure_files("sst2", tmp_path / "data" / "sst2", ["train.tsv"])
    assert (folder / "train.tsv").read_text() == "sentence\tlabel\ngood \t1\n"
    with pytest.raises(SeqlabError, match=r"fetched sst2/dev.tsv .*its header is 'text,label'"):
        download.ensure_files("sst2", folder, ["train.tsv", "dev.tsv"])
    assert not (folder / "dev.tsv").exists() and not list(folder.glob(".*partial"))


def test_a_changed_file_fails_its_sha256_check_naming_both_hashes(tmp_path, monkeypatch):
    import hashlib

    mirror = tmp_path / "mirror"
    write((mirror / "sst2").mkdir(parents=True) or mirror / "sst2", "train.tsv", "sentence\tlabel\ngood \t1\n")
    pin_sha256(monkeypatch, mirror / "sst2")
    pinned = download.SHA256["sst2/train.tsv"]
    write(mirror / "sst2", "train.tsv", "sentence\tlabel\ngood \t0\n")  # one label changed
    changed = hashlib.sha256((mirror / "sst2" / "train.tsv").read_bytes()).hexdigest()
    monkeypatch.setenv("SEQLAB_DATA_MIRROR", str(mirror))
    with pytest.raises(SeqlabError, match=rf"fetched sst2/train.tsv from .*mirror/sst2/train.tsv, but its sha256 "
                                          rf"is {changed}, not the {pinned} seqlab pins: the file is corrupted"):
        download.ensure_files("sst2", tmp_path / "data" / "sst2", ["train.tsv"])
    assert not (tmp_path / "data" / "sst2" / "train.tsv").exists()


@needs_mirror
def test_the_pinned_hashes_are_those_of_the_real_files():
    import hashlib

    for key, pinned in download.SHA256.items():
        assert hashlib.sha256((real_mirror() / key).read_bytes()).hexdigest() == pinned, key
    assert set(download.SHA256) == {f"{source}/{name}" for source, files in download.DATASETS.items() for name in files}


def test_an_unreachable_origin_says_how_to_provide_the_file(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    origin = download.Origin(f"http://127.0.0.1:{port}/input.txt")
    monkeypatch.setitem(download.DATASETS, "tinyshakespeare", {"input.txt": origin})
    with pytest.raises(SeqlabError, match=r"cannot fetch tinyshakespeare/input.txt from http://127.0.0.1.*"
                                          r"download it by hand into .*or set SEQLAB_DATA_MIRROR"):
        download.ensure_files("tinyshakespeare", tmp_path / "data" / "tinyshakespeare", ["input.txt"])


@needs_mirror
def test_the_real_sst2_reads_whole(tmp_path, monkeypatch):
    from seqlab.data.classification_datamodule import ClassificationDataModule

    monkeypatch.setenv("SEQLAB_DATA_MIRROR", str(real_mirror()))
    data = ClassificationDataModule("sst2", str(tmp_path / "sst2"), "sst2", format="tsv", text_column="sentence",
                                    test_fraction=0.05, tokenizer={"split": "whitespace"})
    data.prepare_data()
    data.setup()
    sizes = {split: len(data.texts(split)) for split in ("train", "val", "test")}
    assert sizes == {"train": 67349 - 3367, "val": 872, "test": 3367}
    assert data.labels == ["0", "1"] and data.model_kwargs()["pad_id"] == 0
    assert set(data.model_kwargs()) <= ClassificationDataModule.MODEL_ARGUMENTS


@pytest.mark.parametrize("position, world_size, skipped", [
    ((1, 6), 1, 6),        # a checkpoint of older runs: no rank count, taken as one rank
    ((1, 6, 1), 1, 6),     # the same ranks: the same batches
    ((1, 6, 2), 1, 12),    # 2 ranks then, 1 now: both ranks' batches were trained
    ((1, 6, 1), 4, 1),     # 1 rank then, 4 now: 6 batches done are 1 batch of each rank (2 trained again)
    ((1, 6, 2), 4, 3),
])
def test_a_run_resumed_on_another_number_of_ranks_skips_the_same_share_of_the_epoch(position, world_size, skipped):
    from seqlab.data.split_loaders import SplitLoaders

    class Sampler:
        def resume_at(self, epoch, done):
            self.at = (epoch, done)

    loaders, sampler = SplitLoaders(), Sampler()
    loaders.restore_position({"position": list(position)})
    loaders.resume_sampler(sampler, world_size)
    assert sampler.at == (1, skipped)
    loaders.resume_sampler(sampler, world_size, unit=8)  # a sampler of examples: 8 a batch
    assert sampler.at == (1, skipped * 8)
