"""Fetch the public datasets into data/<dataset>/<file>, from their origins or from a mirror, and check them.

SEQLAB_DATA_MIRROR (a folder or an http(s) URL holding <dataset>/<file>, the layout written here) replaces the
origins, for machines without internet. Files are written to a temporary name and renamed when whole.

    python -m seqlab.data.download [dataset ...] [--data-dir data]      (make data)
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from seqlab.errors import SeqlabError

MIRROR_ENV = "SEQLAB_DATA_MIRROR"
TIMEOUT = 60
GITHUB = "https://raw.githubusercontent.com"


@dataclass(frozen=True)
class Origin:
    url: str
    extract: Callable[[bytes], bytes] = lambda data: data  # from what the URL serves to the file's bytes


def _zip_member(member: str) -> Callable[[bytes], bytes]:
    return lambda data: zipfile.ZipFile(io.BytesIO(data)).read(member)


def _blank_separator_lines(data: bytes) -> bytes:
    """WNUT-17's train file ends some sentences with a line holding only a tab: make every separator empty."""
    return b"\n".join(b"" if not line.strip() else line for line in data.split(b"\n"))


GLUE_SST2 = "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip"
MULTI30K = f"{GITHUB}/multi30k/dataset/master/data/task1/raw"
WNUT17 = f"{GITHUB}/leondz/emerging_entities_17/master"

DATASETS: dict[str, dict[str, Origin]] = {
    "sst2": {
        "train.tsv": Origin(GLUE_SST2, _zip_member("SST-2/train.tsv")),
        "dev.tsv": Origin(GLUE_SST2, _zip_member("SST-2/dev.tsv")),
    },
    "tinyshakespeare": {
        "input.txt": Origin(f"{GITHUB}/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"),
    },
    "multi30k": {
        f"{split}.{lang}": Origin(f"{MULTI30K}/{split}.{lang}.gz", gzip.decompress)
        for split in ("train", "val", "test_2016_flickr")
        for lang in ("en", "de", "fr")
    },
    "wnut17": {
        "train.conll": Origin(f"{WNUT17}/wnut17train.conll", _blank_separator_lines),
        "dev.conll": Origin(f"{WNUT17}/emerging.dev.conll"),
        "test.conll": Origin(f"{WNUT17}/emerging.test.annotated"),
    },
}


def ensure_files(source: str | None, data_dir: str | Path, files: list[str]) -> Path:
    """data_dir holding `files`: those missing are fetched when `source` names a public dataset."""
    data_dir = Path(data_dir).expanduser()
    missing = [f for f in files if not (data_dir / f).is_file()]
    if not missing:
        return data_dir
    if source is None:
        if not data_dir.is_dir():
            raise SeqlabError(f"data dir {data_dir} does not exist; set dataset.data_dir to the folder of your files")
        raise SeqlabError(f"{data_dir / missing[0]} does not exist; put the file there or set dataset.data_dir "
                          "and the dataset's file names")
    if source not in DATASETS:
        raise SeqlabError(f"unknown dataset source '{source}'; sources: {', '.join(DATASETS)}")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=data_dir, prefix=".write-check-")
        probe.close()
    except OSError as err:
        raise SeqlabError(f"cannot create data dir {data_dir} ({err.strerror or err}); set paths.data_dir to a "
                          "folder you can write") from None
    for name in missing:
        fetch(source, name, data_dir)
    return data_dir


def fetch(source: str, name: str, data_dir: Path) -> Path:
    if name not in DATASETS[source]:
        raise SeqlabError(f"{source} has no file '{name}'; its files: {', '.join(DATASETS[source])}")
    mirror = os.environ.get(MIRROR_ENV)
    data = _from_mirror(mirror, source, name, data_dir) if mirror else _from_origin(source, name, data_dir)
    problem = check(source, name, data)
    if problem:
        raise SeqlabError(f"fetched {source}/{name} from {mirror or DATASETS[source][name].url}, but {problem}; "
                          f"nothing was written to {data_dir}")
    target = data_dir / name
    partial = target.with_name(f".{name}.partial")
    partial.write_bytes(data)
    os.replace(partial, target)
    print(f"fetched {source}/{name} ({len(data):,} bytes) into {data_dir}", file=sys.stderr)
    return target


def _from_mirror(mirror: str, source: str, name: str, data_dir: Path) -> bytes:
    where = f"{mirror.rstrip('/')}/{source}/{name}"
    hint = f"download it by hand into data/{source}/ (dataset.data_dir, here {data_dir}) or fix {MIRROR_ENV}"
    if "://" not in mirror:
        path = Path(mirror).expanduser() / source / name
        if not path.is_file():
            raise SeqlabError(f"cannot fetch {where}: no such file in the mirror; {hint}")
        return path.read_bytes()
    try:
        return _get(where)
    except urllib.error.HTTPError as err:
        reason = "no such file in the mirror" if err.code == 404 else f"HTTP {err.code}"
        raise SeqlabError(f"cannot fetch {where}: {reason}; {hint}") from None
    except OSError as err:
        raise SeqlabError(f"cannot fetch {where}: {getattr(err, 'reason', err)}; {hint}") from None


def _from_origin(source: str, name: str, data_dir: Path) -> bytes:
    origin = DATASETS[source][name]
    try:
        return origin.extract(_get(origin.url))
    except (OSError, zipfile.BadZipFile, KeyError, EOFError) as err:
        raise SeqlabError(
            f"cannot fetch {source}/{name} from {origin.url} ({getattr(err, 'reason', err)}); download it by hand "
            f"into {data_dir}/, or set {MIRROR_ENV} to a folder or URL holding {source}/{name}"
        ) from None


def check(source: str, name: str, data: bytes) -> str | None:
    """What is wrong with a fetched file (None when it looks like the dataset's file): UTF-8 text, and the
    header or line shape its readers expect."""
    if not data.strip():
        return "the file is empty"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"it is not UTF-8 text (byte {err.start})"
    lines = text.splitlines()
    if source == "sst2" and lines[0].rstrip() != "sentence\tlabel":
        return f"its header is {lines[0][:40]!r}, not 'sentence<TAB>label'"
    if source == "wnut17":
        bad = next((i for i, line in enumerate(lines, 1) if line.strip() and len(line.split("\t")) != 2), None)
        if bad is not None:
            return f"line {bad} is not 'token<TAB>tag'"
    return None


@cache
def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
        return response.read()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="fetch and check seqlab's public datasets")
    parser.add_argument("datasets", nargs="*", default=list(DATASETS), help=f"any of {', '.join(DATASETS)}")
    parser.add_argument("--data-dir", default="data", help="where data/<dataset>/ folders go (default: data)")
    args = parser.parse_args(argv)
    from seqlab.cli import run_or_exit

    for name in args.datasets:
        if name not in DATASETS:
            sys.exit(f"error: unknown dataset '{name}'; datasets: {', '.join(DATASETS)}")
        folder = run_or_exit(ensure_files, name, Path(args.data_dir) / name, list(DATASETS[name]))
        print(f"{name}: {', '.join(DATASETS[name])} in {folder}")


if __name__ == "__main__":
    main()
