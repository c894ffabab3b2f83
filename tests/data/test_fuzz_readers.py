"""Readers and tokenizers on arbitrary bytes and unicode: each either parses or raises seqlab's own clear error
naming the file, never a traceback from deep inside a parser. Covered: tables and lines (data/readers), the word
tokenizer of the classifiers, CoNLL/IOB2 and JSONL entity files as NER runs read them (to spaCy docs, then a
DocBin), parallel text, plain-text corpora, the language-model tokenizers (char, word, bpe) and the translation
tokenizers (word, bpe)."""

from __future__ import annotations

import contextlib
import functools
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqlab.data import seq2seq_tokenizers
from seqlab.data.parallel_readers import read_parallel
from seqlab.data.readers import read_table, read_utf8_lines
from seqlab.data.text_corpus import SPLITS, TextCorpus
from seqlab.data.text_tokenizer import TextTokenizerOptions, encode_text, tokenizer_from_str, train_text_tokenizer
from seqlab.data.word_tokenizer import WordTokenizerOptions, encode_texts, train_word_tokenizer
from seqlab.errors import SeqlabError
from seqlab.ner.dataset import NerDataset

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
COLUMNS = {"text": "dataset.text_column", "label": "dataset.label_column"}

# bytes that look like the formats, mixed with anything
TABLE_PIECES = st.sampled_from([
    b"text", b"label", b"\t", b",", b"\n", b"\r\n", b'"', b"{", b"}", b":", b"[", b"]",
    b'"text"', b'"label"', b"\xff", b"\xc3\xa9", b"\xef\xbb\xbf", b" ", b"x", b"1", b"\x00", b'"\\ud800"',
    b"\\udc00", b"\\ud83d\\ude00",
])
TABLE_BYTES = st.one_of(st.binary(max_size=300), st.lists(TABLE_PIECES, max_size=60).map(b"".join))


@contextlib.contextmanager
def written(data: bytes, suffix: str) -> Iterator[Path]:
    """A file holding `data`, alone in a folder that is removed afterwards (hypothesis makes hundreds of them)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"data{suffix}"
        path.write_bytes(data)
        yield path


@FUZZ
@given(data=TABLE_BYTES, suffix=st.sampled_from([".tsv", ".csv", ".jsonl"]))
def test_tables_parse_or_say_what_is_wrong(data, suffix):
    try:
        with written(data, suffix) as path:
            rows = read_table(path, None, COLUMNS)
    except SeqlabError as err:
        assert str(path) in str(err)
    else:
        assert all(set(row) == set(COLUMNS) for row in rows)
        assert all(isinstance(v, str) and v.encode("utf-8") for row in rows for v in row.values())  # text, whole


@FUZZ
@given(data=st.binary(max_size=400))
def test_lines_decode_or_name_the_line(data):
    try:
        with written(data, ".txt") as path:
            lines = read_utf8_lines(path)
    except SeqlabError as err:
        assert str(path) in str(err) and "line" in str(err) and "UTF-8" in str(err)
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


# --- NER files, read as a run reads them: to spaCy docs with their entities, then a DocBin -----------------------

CONLL_PIECES = st.sampled_from([
    b"\t", b" ", b"\n", b"\n\n", b"\r\n", b"O", b"B-", b"I-", b"B-person", b"I-person", b"I-place", b"-DOCSTART-",
    b"Alice", b"x", b"\xc3\xa9", b"\xff", b"\xef\xbb\xbf", b"\x00", b"\xe2\x80\xa8", b"\xc2\x85",
])
PLAIN = st.text(st.characters(exclude_categories=("Cs", "Zs", "Zl", "Zp", "Cc")), min_size=1, max_size=8)
WORD = st.one_of(st.sampled_from(["Alice", "New", "York", "lol", ",", "U.K.", "é", "$1", "-DOCSTART-", "\ud800x"]),
                 PLAIN, PLAIN, st.text(min_size=1, max_size=8))
VALID_TAG = st.sampled_from(["O", "O", "B-person", "I-person", "B-place", "I-place"])
TAG = st.one_of(VALID_TAG, VALID_TAG, VALID_TAG, st.sampled_from(["B-", "I-", "b-x", "", "B-\u2028"]),
                st.text(max_size=6))


@st.composite
def conll_texts(draw, noisy: bool) -> str:
    """Sentences of `token<TAB>tag` lines, which must parse unless `noisy`: then odd tokens, tags and separators."""
    token, tag = (WORD, TAG) if noisy else (PLAIN, VALID_TAG)
    separator = st.sampled_from(["\t", " ", "\t\t", "\tPOS\t"]) if noisy else st.just("\t")
    sentences = draw(st.lists(st.lists(st.tuples(token, separator, tag), min_size=1, max_size=8),
                              min_size=0 if noisy else 1, max_size=4))
    return "\n".join("".join(f"{w}{sep}{t}\n" for w, sep, t in sentence) for sentence in sentences)


CONLL_BYTES = st.one_of(st.binary(max_size=300), st.lists(CONLL_PIECES, max_size=80).map(b"".join),
                        conll_texts(noisy=True).map(lambda text: text.encode("utf-8", "surrogatepass")))
SURROGATES = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=2)  # JSON escapes such as \ud800
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 40) | st.floats() | st.text(max_size=12) | SURROGATES,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@st.composite
def entity_records(draw, noisy: bool) -> dict:
    """A text of words and entities over whole words, which must parse unless `noisy`: then odd words and labels,
    offsets off token boundaries, overlaps, and entries that are anything at all."""
    words = draw(st.lists(WORD if noisy else PLAIN, min_size=1, max_size=8))
    separator = draw(st.sampled_from([" ", "  ", "\n"]))
    text = separator.join(words)
    starts = [sum(len(w) + len(separator) for w in words[:i]) for i in range(len(words))]
    entities = []
    if noisy:  # any span of words, perhaps shifted off a token boundary, perhaps overlapping another
        for _ in range(draw(st.integers(0, 3))):
            first = draw(st.integers(0, len(words) - 1))
            last = draw(st.integers(first, len(words) - 1))
            shift = draw(st.sampled_from([0, 1, -1]))
            label = draw(st.one_of(st.sampled_from(["person", "place"]), st.text()))
            entities.append([starts[first] + shift, starts[last] + len(words[last]), label])
    else:  # whole words, one entity each
        for i, word in enumerate(words):
            if draw(st.booleans()):
                entities.append([starts[i], starts[i] + len(word), draw(st.sampled_from(["person", "place"]))])
    if noisy and draw(st.booleans()):  # an entry that is anything at all
        entities.append(draw(st.one_of(st.tuples(st.integers(-2, 40), st.integers(-2, 40), st.text(max_size=8)).map(
            list), JSON_VALUES)))
    return {"text": text, "entities": entities}


RECORD = st.one_of(entity_records(noisy=True), JSON_VALUES)
JSONL_BYTES = st.one_of(
    st.binary(max_size=300),
    st.lists(RECORD, max_size=5).map(lambda records: "".join(json.dumps(r) + "\n" for r in records).encode()),
    st.lists(RECORD.map(lambda r: json.dumps(r, ensure_ascii=False)), max_size=5).map(
        lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass")),
)


@functools.cache
def blank_nlp():
    import spacy

    return spacy.blank("en")


def read_entities(data: bytes, suffix: str, stray_i_tags: str = "repair") -> tuple[Path, list | None,
                                                                                  SeqlabError | None]:
    """The docs an NER run gets from a train file holding `data` (or the error), through NerDataset's reader."""
    from spacy.tokens import DocBin

    with written(data, suffix) as path:
        dataset = NerDataset("fuzz", data_dir=str(path.parent), train_file=path.name, stray_i_tags=stray_i_tags)
        try:
            docs, _ = dataset._read("train", blank_nlp())
            DocBin(docs=docs, store_user_data=False).to_bytes()  # what the DocBin cache writes
        except SeqlabError as err:
            return path, None, err
    return path, docs, None


@FUZZ
@given(data=CONLL_BYTES, stray_i_tags=st.sampled_from(["repair", "reject"]))
def test_conll_files_parse_or_name_the_file(data, stray_i_tags):
    path, docs, err = read_entities(data, ".conll", stray_i_tags)
    if err is not None:
        assert str(path) in str(err)
        return
    assert docs and all(len(doc) for doc in docs)
    for doc in docs:
        assert all(ent.label_ and 0 <= ent.start < ent.end <= len(doc) for ent in doc.ents)


@FUZZ
@given(data=JSONL_BYTES)
def test_entity_jsonl_files_parse_or_name_the_file(data):
    path, docs, err = read_entities(data, ".jsonl")
    if err is not None:
        assert str(path) in str(err)
        return
    assert docs
    for doc in docs:
        assert all(ent.label_.strip() and 0 <= ent.start_char < ent.end_char <= len(doc.text) for ent in doc.ents)


@FUZZ
@given(text=conll_texts(noisy=False), stray_i_tags=st.sampled_from(["repair", "reject"]))
def test_clean_conll_files_parse(text, stray_i_tags):
    words = [line.split("\t")[0] for line in text.splitlines() if line and not line.startswith("-DOCSTART-")]
    path, docs, err = read_entities(text.encode(), ".conll", stray_i_tags)
    if stray_i_tags == "reject" and err is not None and "with no" in str(err):
        return  # a stray I- tag, rejected as asked
    assert err is None, err
    assert [t.text for doc in docs for t in doc] == words


@FUZZ
@given(records=st.lists(entity_records(noisy=False), min_size=1, max_size=5))
def test_clean_entity_jsonl_files_parse(records):
    path, docs, err = read_entities("".join(json.dumps(r) + "\n" for r in records).encode(), ".jsonl")
    assert err is None, err
    assert [[[e.start_char, e.end_char, e.label_] for e in doc.ents] for doc in docs] == \
        [r["entities"] for r in records]


# --- parallel text and plain-text corpora (read-only users of data/parallel_readers.py, data/text_corpus.py) ----

LINES_BYTES = st.one_of(st.binary(max_size=200),
                        st.lists(st.sampled_from([b"a", b"\t", b"\n", b"\r\n", b" ", b"\xff", b"\xc3\xa9", b"x y"]),
                                 max_size=40).map(b"".join))


@FUZZ
@given(source=LINES_BYTES, target=LINES_BYTES, empty_lines=st.sampled_from(["skip", "error"]))
def test_aligned_parallel_files_parse_or_name_a_file(source, target, empty_lines):
    try:
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            (folder / "train.src").write_bytes(source)
            (folder / "train.tgt").write_bytes(target)
            text = read_parallel(["train.src", "train.tgt"], folder, empty_lines=empty_lines)
    except SeqlabError as err:
        assert str(folder / "train.src") in str(err) or str(folder / "train.tgt") in str(err)
    else:
        assert all(s and t and s == s.strip() and t == t.strip() for s, t in text.pairs)


@FUZZ
@given(data=LINES_BYTES, columns=st.tuples(st.integers(0, 3), st.integers(0, 3)), header=st.booleans(),
       empty_lines=st.sampled_from(["skip", "error"]))
def test_tsv_pairs_parse_or_name_the_file(data, columns, header, empty_lines):
    try:
        with written(data, ".tsv") as path:
            text = read_parallel(path.name, path.parent, tsv_columns=columns, tsv_header=header,
                                 empty_lines=empty_lines)
    except SeqlabError as err:
        assert str(path) in str(err)
    else:
        assert all(s and t for s, t in text.pairs)


@FUZZ
@given(files=st.lists(st.binary(max_size=200), min_size=1, max_size=3),
       fractions=st.sampled_from([(0.9, 0.05, 0.05), (0.5, 0.25, 0.25), (0.98, 0.01, 0.01)]))
def test_text_corpora_read_and_split_or_name_the_file(files, fractions):
    with contextlib.ExitStack() as stack:
        paths = [stack.enter_context(written(data, ".txt")) for data in files]
        try:
            segments = list(TextCorpus(paths, None, fractions).segments())
        except SeqlabError as err:  # bytes that are not UTF-8, or no text at all
            assert any(str(p) in str(err) for p in paths)
            return
        documents = [lines for lines in map(read_utf8_lines, paths) if any(line.strip() for line in lines)]
    assert "".join(text for _, _, text in segments) == "".join("\n".join(lines) + "\n" for lines in documents)
    assert [split for split, _, _ in segments] == sorted((split for split, _, _ in segments), key=SPLITS.index)


# --- tokenizers on any unicode (read-only users of data/text_tokenizer.py, data/seq2seq_tokenizers.py) -----------

TEXTS = st.lists(st.text(max_size=40), min_size=1, max_size=6)


@FUZZ
@given(texts=TEXTS, probe=st.text(max_size=60), kind=st.sampled_from(["char", "word", "bpe"]),
       vocab_size=st.integers(3, 300))
def test_language_model_tokenizers_encode_any_unicode(texts, probe, kind, vocab_size):
    tokenizer = train_text_tokenizer(texts, TextTokenizerOptions.from_config({"kind": kind, "vocab_size": vocab_size}))
    def encoded(made) -> list[int]:
        return [i for part in encode_text(made, [probe]) for i in part]

    ids = encoded(tokenizer)
    assert all(0 <= i < len(tokenizer) for i in ids)
    if kind == "bpe":  # byte-level: every text comes back
        assert tokenizer.decode(ids) == probe
    assert encoded(tokenizer_from_str(tokenizer.backend_tokenizer.to_str())) == ids


@FUZZ
@given(texts=TEXTS, probe=st.text(max_size=60), kind=st.sampled_from(["word", "bpe"]),
       vocab_size=st.integers(5, 300), lowercase=st.booleans(), max_length=st.integers(1, 20), bos=st.booleans())
def test_translation_tokenizers_encode_any_unicode(texts, probe, kind, vocab_size, lowercase, max_length, bos):
    options = seq2seq_tokenizers.Seq2SeqTokenizerOptions.from_config(
        {"kind": kind, "vocab_size": vocab_size, "min_frequency": 1, "lowercase": lowercase}, "dataset.src_tokenizer")
    tokenizer = seq2seq_tokenizers.train_tokenizer(texts, options)
    [ids], _ = seq2seq_tokenizers.encode(tokenizer, [probe], max_length, bos)
    assert len(ids) <= max_length + 1 + bos
    assert all(0 <= i < tokenizer.get_vocab_size() for i in ids)
    [text] = seq2seq_tokenizers.decode(tokenizer, [ids])
    assert isinstance(text, str)
    assert len(seq2seq_tokenizers.display_tokens(tokenizer, ids)) == len(ids)


@pytest.mark.parametrize("split", ["words", "whitespace"])
def test_a_corpus_holding_the_special_tokens_keeps_the_ids_contiguous(split):
    """PTB-style text holds a literal <unk>: the ids must still run 0..size-1, <pad> = 0 and <unk> = 1."""
    options = WordTokenizerOptions.from_config({"split": split, "lowercase": True, "max_vocab_size": 6})
    tokenizer = train_word_tokenizer(["the <unk> sat", "<pad> the <UNK> mat mat"], options)
    vocab = tokenizer.get_vocab()
    assert sorted(vocab.values()) == list(range(tokenizer.get_vocab_size())) and len(vocab) <= 6
    assert (vocab["<pad>"], vocab["<unk>"]) == (0, 1)
    [ids] = encode_texts(tokenizer, ["the <unk> mat unseen"])
    assert ids[0] == vocab["the"] and ids[1] == 1 and ids[3] == 1
