"""File readers: UTF-8 lines and labelled tables (tsv, csv, jsonl).

Every malformed input ends in a SeqlabError that names the file and line, never in a traceback from deep
inside a parser."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

from seqlab.errors import SeqlabError

FORMATS = ("tsv", "csv", "jsonl")


def read_utf8_lines(path: str | Path) -> list[str]:
    """The file's lines without their line endings; bytes that are not UTF-8 name the file and the line."""
    return list(iter_utf8_lines(path))


def iter_utf8_lines(path: str | Path) -> Iterator[str]:
    """read_utf8_lines one line at a time, for files larger than memory."""
    path = Path(path)
    if not path.is_file():
        raise SeqlabError(f"file {path} does not exist")
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise SeqlabError(
                    f"{path}, line {number}: bytes that are not UTF-8 ({raw[err.start : err.end]!r} at byte "
                    f"{err.start}); save the file as UTF-8"
                ) from None
            if number == 1 and text.startswith("\ufeff"):  # a byte-order mark
                text = text[1:]
            yield text.rstrip("\r\n")


def parse_json_line(line: str, where: str):
    """One JSON value; bad JSON, and escapes of lone surrogates (\\ud800: half a character, which no text can
    hold), are SeqlabErrors starting with `where`."""
    try:
        value = json.loads(line)
    except json.JSONDecodeError as err:
        raise SeqlabError(f"{where}: not valid JSON ({err.msg}, column {err.colno})") from None
    except RecursionError:
        raise SeqlabError(f"{where}: JSON nested too deeply") from None
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as err:
        raise SeqlabError(f"{where}: the escape {ascii(err.object[err.start])[1:-1]} is half of a character "
                          "(a lone surrogate); write the character itself, or its pair of escapes") from None
    return value


def table_format(path: str | Path, format: str | None) -> str:
    """The format given, else the one the extension names."""
    if format is not None:
        if format not in FORMATS:
            raise SeqlabError(f"dataset.format={format!r} is not a valid choice; choices: "
                              f"{', '.join(FORMATS)}")
        return format
    suffix = Path(path).suffix.lstrip(".").lower()
    if suffix in FORMATS:
        return suffix
    raise SeqlabError(f"cannot tell the format of {path} from its extension; set dataset.format to one of "
                      f"{', '.join(FORMATS)}")


def read_table(path: str | Path, format: str | None, columns: dict[str, str]) -> list[dict[str, str]]:
    """Rows of a tsv/csv file with a header row, or of a jsonl file, as {name: value} for each wanted column;
    each wanted value must be there and not blank.

    `columns` maps a name to the config option that chose its column, e.g. {"review": "dataset.text_column"}:
    a missing column names that option and the columns the file has."""
    path = Path(path)
    kind = table_format(path, format)
    lines = read_utf8_lines(path)
    if kind == "jsonl":
        records = _jsonl_records(path, lines)
        found = list(dict.fromkeys(k for _, r in records for k in r))
    else:
        records, found = _delimited_records(path, lines, "\t" if kind == "tsv" else ",")
    for column, option in columns.items():
        if records and column not in found:
            listed = ", ".join(repr(c) for c in found)
            raise SeqlabError(f"no column '{column}' in {path}; columns found: {listed}; set {option}")
    rows = []
    for line, record in records:
        missing = [c for c in columns if record.get(c) is None]
        if missing:
            raise SeqlabError(f"{path}, line {line}: no value for column '{missing[0]}'")
        empty = [c for c in columns if not str(record[c]).strip()]
        if empty:  # an empty label would become a class of its own, an empty text a row with nothing to read
            raise SeqlabError(f"{path}, line {line}: the column '{empty[0]}' is empty; fill it in or remove "
                              "the row")
        rows.append({c: str(record[c]) for c in columns})
    return rows


def _jsonl_records(path: Path, lines: list[str]) -> list[tuple[int, dict]]:
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        record = parse_json_line(line, f"{path}, line {number}")
        if not isinstance(record, dict):
            raise SeqlabError(f"{path}, line {number}: expected a JSON object, found {type(record).__name__}")
        records.append((number, record))
    return records


def _delimited_records(path: Path, lines: list[str],
                       delimiter: str) -> tuple[list[tuple[int, dict]], list[str]]:
    """Records with the line each starts on; csv may quote fields across lines, tsv has no quoting."""
    if not lines:
        return [], []
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter, quoting=quoting, strict=True)
    records, header, start = [], None, 1
    try:
        for fields in reader:
            if header is None:
                header = [h.strip() for h in fields]
            elif fields and any(f.strip() for f in fields):
                if len(fields) != len(header):
                    raise SeqlabError(
                        f"{path}, line {start}: {len(fields)} fields where the header has {len(header)} "
                        f"({', '.join(header)})"
                    )
                records.append((start, dict(zip(header, fields, strict=True))))
            start = reader.line_num + 1
    except csv.Error as err:
        raise SeqlabError(f"{path}, line {reader.line_num}: not valid "
                          f"{'TSV' if quoting else 'CSV'} ({err})") from None
    return records, header or []
