"""Parallel text: two line-aligned files (source, target) or one TSV file with a source and a target
column."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from seqlab.data.readers import read_utf8_lines
from seqlab.errors import SeqlabError

EMPTY_LINE_POLICIES = ("skip", "error")


@dataclass
class ParallelText:
    pairs: list[tuple[str, str]]  # (source, target), stripped
    skipped_empty: int = 0  # pairs left out because one side (or both) was empty


def read_parallel(files: str | list[str], data_dir: str | Path, tsv_columns: tuple[int, int] = (0, 1),
                  tsv_header: bool = False, empty_lines: Literal["skip", "error"] = "skip",
                  option: str = "dataset") -> ParallelText:
    """files: [source file, target file] or one .tsv file name, relative to data_dir.

    Mistakes in the files end in a SeqlabError naming the file (and line): files of different line counts, a
    TSV line without the columns asked for, an empty sentence on one side when empty lines are to be rejected.
    """
    if empty_lines not in EMPTY_LINE_POLICIES:
        raise SeqlabError(f"dataset.empty_lines={empty_lines!r} is not a valid choice; choices: "
                          f"{', '.join(EMPTY_LINE_POLICIES)}")
    data_dir = Path(data_dir).expanduser()
    if isinstance(files, str):
        paths = (data_dir / files,)
        rows = _tsv_rows(paths[0], tsv_columns, tsv_header)
    elif len(files) == 2:
        paths = (data_dir / files[0], data_dir / files[1])
        rows = _aligned_rows(*paths)
    else:
        raise SeqlabError(f"{option} must name two aligned files [source, target] or one .tsv file, not "
                          f"{files!r}")
    pairs, skipped = [], 0
    for number, source, target in rows:
        source, target = source.strip(), target.strip()
        if source and target:
            pairs.append((source, target))
            continue
        if empty_lines == "error":
            side = "source and target" if not source and not target else "source" if not source else "target"
            path = paths[0] if len(paths) == 1 or not source else paths[1]
            raise SeqlabError(f"{path}, line {number}: empty {side} sentence; remove the pair from the data "
                              "or set dataset.empty_lines=skip to leave such pairs out")
        skipped += 1
    return ParallelText(pairs, skipped)


def _aligned_rows(source_path: Path, target_path: Path) -> list[tuple[int, str, str]]:
    sources, targets = read_utf8_lines(source_path), read_utf8_lines(target_path)
    if len(sources) != len(targets):
        raise SeqlabError(
            f"parallel files of different lengths: {source_path} has {len(sources):,} lines and "
            f"{target_path} has {len(targets):,}; line i of one must translate line i of the other"
        )
    return [(i, s, t) for i, (s, t) in enumerate(zip(sources, targets, strict=True), start=1)]


def _tsv_rows(path: Path, columns: tuple[int, int], header: bool) -> list[tuple[int, str, str]]:
    if path.suffix.lower() != ".tsv":
        raise SeqlabError(f"{path}: one file of pairs must be a .tsv (source<TAB>target); for two aligned "
                          "files give a list [source file, target file]")
    source_column, target_column = columns
    needed = max(source_column, target_column) + 1
    rows = []
    for number, line in enumerate(read_utf8_lines(path), start=1):
        if header and number == 1:
            continue
        fields = line.split("\t")
        if not line.strip():
            fields = ["", ""] + [""] * needed
        if len(fields) < needed:
            raise SeqlabError(f"{path}, line {number}: {len(fields)} tab-separated field(s) where source and "
                              f"target need {needed} (dataset.tsv_columns={list(columns)})")
        rows.append((number, fields[source_column], fields[target_column]))
    return rows
