"""Plain-text corpora: read UTF-8 documents by name or glob pattern, and split them by position into train,
validation and test (the first 90% of the characters, the next 5%, the last 5% by default)."""

from __future__ import annotations

import glob
from pathlib import Path

from seqlab.data.readers import read_table, read_utf8_lines
from seqlab.errors import SeqlabError

SPLITS = ("train", "val", "test")
PATTERN_CHARS = "*?["


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
                raise SeqlabError(f"no file in {data_dir} matches '{name}'; fix dataset.files or dataset.data_dir")
            paths += found
        else:
            paths.append(data_dir / name)
    return list(dict.fromkeys(paths))


def read_documents(paths: list[Path], text_column: str | None = None) -> list[str]:
    """Each file's text with LF line endings; with a text_column, the files are tables (tsv, csv or jsonl, by
    extension) and a file's text is that column, one row a line. A file with no text is skipped."""
    documents = []
    for path in paths:
        if text_column:
            lines = [row[text_column] for row in read_table(path, None, {text_column: "dataset.text_column"})]
        else:
            lines = read_utf8_lines(path)
        if any(line.strip() for line in lines):
            documents.append("\n".join(lines) + "\n")
    return documents


def check_fractions(fractions: list[float]) -> tuple[float, float, float]:
    if len(fractions) != 3 or any(not isinstance(f, (int, float)) or f <= 0 for f in fractions):
        raise SeqlabError(f"dataset.split={list(fractions)} must be three positive shares: train, val, test")
    if abs(sum(fractions) - 1) > 1e-6:
        raise SeqlabError(f"dataset.split={list(fractions)} must add up to 1 (e.g. [0.9, 0.05, 0.05])")
    return tuple(float(f) for f in fractions)


def split_by_position(documents: list[str], fractions: tuple[float, float, float]) -> dict[str, list[str]]:
    """The documents laid end to end and cut at the given shares of their characters: per split, the pieces
    of documents that fall into it, in order (a document may straddle a cut)."""
    total = sum(len(d) for d in documents)
    cuts = [0, round(total * fractions[0]), round(total * (fractions[0] + fractions[1])), total]
    pieces: dict[str, list[str]] = {split: [] for split in SPLITS}
    position = 0
    for document in documents:
        start, end = position, position + len(document)
        for i, split in enumerate(SPLITS):
            low, high = max(start, cuts[i]), min(end, cuts[i + 1])
            if low < high:
                pieces[split].append(document[low - start : high - start])
        position = end
    return pieces
