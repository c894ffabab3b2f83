"""Readers and tokenizers on arbitrary bytes and unicode: each either parses or raises seqlab's own clear error,
never a traceback from deep inside a parser."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqlab.data.readers import read_table, read_utf8_lines
from seqlab.data.word_tokenizer import WordTokenizerOptions, encode_texts, train_word_tokenizer
from seqlab.errors import SeqlabError

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
COLUMNS = {"text": "dataset.text_column", "label": "dataset.label_column"}

# bytes that look like the formats, mixed with anything
TABLE_PIECES = st.sampled_from([
    b"text", b"label", b"\t", b",", b"\n", b"\r\n", b'"', b"{", b"}", b":", b"[", b"]",
    b'"text"', b'"label"', b"\xff", b"\xc3\xa9", b"\xef\xbb\xbf", b" ", b"x", b"1", b"\x00",
])
TABLE_BYTES = st.one_of(st.binary(max_size=300), st.lists(TABLE_PIECES, max_size=60).map(b"".join))


def write(data: bytes, suffix: str) -> Path:
    folder = Path(tempfile.mkdtemp())
    path = folder / f"data{suffix}"
    path.write_bytes(data)
    return path


@FUZZ
@given(data=TABLE_BYTES, suffix=st.sampled_from([".tsv", ".csv", ".jsonl"]))
def test_tables_parse_or_say_what_is_wrong(data, suffix):
    path = write(data, suffix)
    try:
        rows = read_table(path, None, COLUMNS)
    except SeqlabError as err:
        assert str(err)
    else:
        assert all(set(row) == set(COLUMNS) and all(isinstance(v, str) for v in row.values()) for row in rows)


@FUZZ
@given(data=st.binary(max_size=400))
def test_lines_decode_or_name_the_line(data):
    path = write(data, ".txt")
    try:
        lines = read_utf8_lines(path)
    except SeqlabError as err:
        assert "line" in str(err) and "UTF-8" in str(err)
    else:
        assert all("\n" not in line for line in lines)


@FUZZ
@given(texts=st.lists(st.text(max_size=40), min_size=1, max_size=8), probe=st.text(max_size=60),
       split=st.sampled_from(["words", "whitespace"]), lowercase=st.booleans())
def test_the_word_tokenizer_encodes_any_unicode(texts, probe, split, lowercase):
    options = WordTokenizerOptions.from_config({"split": split, "lowercase": lowercase, "max_length": 16})
    tokenizer = train_word_tokenizer(texts, options)
    [ids] = encode_texts(tokenizer, [probe])
    assert 1 <= len(ids) <= 16
    assert all(0 <= i < tokenizer.get_vocab_size() for i in ids)


@pytest.mark.parametrize("options", [{"max_length": "long"}, {"min_frequency": -1}, {"max_vocab_size": 2}])
def test_bad_tokenizer_options_are_seqlab_errors(options):
    with pytest.raises(SeqlabError, match="dataset.tokenizer"):
        WordTokenizerOptions.from_config(options)
