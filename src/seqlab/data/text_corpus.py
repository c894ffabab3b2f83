"""Plain-text corpora: UTF-8 documents named by file or glob pattern, streamed and split by position."""

from __future__ import annotations

import functools
import glob
import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path

from seqlab.data.readers import iter_utf8_lines, read_table
from seqlab.errors import SeqlabError

SPLITS = ("train", "val", "test")
PATTERN_CHARS = "*?["
TEXT_LINES = 2000  # lines (at least) per text a tokenizer is trained on


def is_pattern(name: str) -> bool:
    return any(c in name for c in PATTERN_CHARS)


def corpus_paths(data_dir: str | Path, files: list[str]) -> list[Path]:
    """The files named, each pattern expanded (sorted); a pattern that matches nothing is an error."""
    data_dir = Path(data_dir).expanduser()
    paths: list[Path] = []
    for name in files:
        if is_pattern(name):
            found = sorted(Path(p) for p in glob.glob(str(data_dir / name)) if Path(p).is_file())
            if not found:
                raise SeqlabError(f"no file in {data_dir} matches '{name}'; fix dataset.files or "
                                  "dataset.data_dir")
            paths += found
        else:
            paths.append(data_dir / name)
    return list(dict.fromkeys(paths))


def check_fractions(fractions: list[float]) -> tuple[float, float, float]:
    if len(fractions) != 3 or any(not isinstance(f, (int, float)) or f <= 0 for f in fractions):
        raise SeqlabError(f"dataset.split={list(fractions)} must be three positive shares: train, val, test")
    if abs(sum(fractions) - 1) > 1e-6:
        raise SeqlabError(f"dataset.split={list(fractions)} must add up to 1 (e.g. [0.9, 0.05, 0.05])")
    return tuple(float(f) for f in fractions)


class TextCorpus:
    """Documents read as a stream, never whole: each file is a document, its lines with LF endings; with a
    text_column the files are tables (tsv, csv or jsonl, by extension; a table is read whole, one file at a
    time) and a document is that column, one row a line. A document with no text is skipped. The documents,
    laid end to end, are cut at the given shares of their characters into train, val and test (a document may
    straddle a cut; by default the first 90% of the characters, the next 5%, the last 5%)."""

    def __init__(self, paths: list[Path], text_column: str | None, fractions: tuple[float, float, float]):
        self.paths, self.text_column, self.fractions = paths, text_column, fractions

    def lines(self, index: int) -> Iterator[str]:
        """Document `index`'s lines, without their endings."""
        path = self.paths[index]
        if self.text_column:
            rows = read_table(path, None, {self.text_column: "dataset.text_column"})
            return (row[self.text_column] for row in rows)
        return iter_utf8_lines(path)

    @functools.cached_property
    def lengths(self) -> list[int]:
        """Characters of each document, 0 for one with no text (one read of every file)."""
        lengths = []
        for index in range(len(self.paths)):
            characters, text = 0, False
            for line in self.lines(index):
                characters += len(line) + 1
                text = text or bool(line.strip())
            lengths.append(characters if text else 0)
        if not any(lengths):
            raise SeqlabError(f"the corpus ({', '.join(map(str, self.paths))}) has no text; check "
                              "dataset.files")
        return lengths

    @property
    def cuts(self) -> list[int]:
        """Where each split starts and ends, in characters of the documents laid end to end."""
        total, (train, val, _) = sum(self.lengths), self.fractions
        return [0, round(total * train), round(total * (train + val)), total]

    def segments(self, until: str = "test") -> Iterator[tuple[str, int, str]]:
        """(split, document, text) in corpus order, up to the end of split `until`: the text of a document's
        piece in a split comes in segments, each a line with its ending or, where a cut falls inside a line, a
        part of one."""
        cuts, position, split, last = self.cuts, 0, 0, SPLITS.index(until)
        for index, length in enumerate(self.lengths):
            start, position = position, position + length
            if start >= cuts[last + 1]:
                return
            if not length:
                continue
            low = start
            for line in self.lines(index):
                text = line + "\n"
                line_start, high = low, low + len(text)
                while low < high:  # the line's part in each split it reaches
                    while low >= cuts[split + 1]:
                        split += 1
                    if split > last:
                        return
                    end = min(high, cuts[split + 1])
                    yield SPLITS[split], index, text[low - line_start : end - line_start]
                    low = end


class TrainText:
    """The train split's text for a tokenizer to learn from, as whole_line_texts of TEXT_LINES lines or more;
    each iteration reads the files again."""

    def __init__(self, corpus: TextCorpus):
        self.corpus = corpus

    def __iter__(self) -> Iterator[str]:
        return whole_line_texts(self.corpus.segments(until="train"), TEXT_LINES)


def whole_line_texts(segments: Iterable[tuple[str, int, str]], min_lines: int) -> Iterator[str]:
    """Each piece of a document (the segments of one split and document) as texts of at least `min_lines`
    lines, cut only between a line that ends in a character other than whitespace and one that starts with
    one: no tokenizer's splitting (characters; words, punctuation and whitespace runs; GPT-2's byte-level
    pattern; BERT's) joins the two sides of such a cut, so that a tokenizer trained on the texts is the one
    trained on each piece whole."""
    for _, piece in itertools.groupby(segments, key=lambda segment: segment[:2]):
        lines: list[str] = []
        for _, _, text in piece:
            if len(lines) >= min_lines and _ends_a_word(lines[-1]) and not text[:1].isspace():
                yield "".join(lines)
                lines = []
            lines.append(text)
        yield "".join(lines)


def _ends_a_word(line: str) -> bool:
    return line.endswith("\n") and len(line) > 1 and not line[-2].isspace()
