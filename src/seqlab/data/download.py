"""Fetch the public datasets into data/<dataset>/<file>, from their origins or a mirror, and check them."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from seqlab.errors import SeqlabError

# requests and pooch are imported where a file is downloaded: seqlab.commands.download imports this module at
# its top and starts fast

# a folder or an http(s) URL holding <dataset>/<file> (the layout written here) that replaces the origins, for
# machines without internet
MIRROR_ENV = "SEQLAB_DATA_MIRROR"
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

# each public dataset's license, as its origin states it (written into what is trained on it, e.g. a NER
# pipeline's meta.json)
LICENSES: dict[str, str] = {
    "sst2": "none stated; cite Socher et al. 2013",
    "tinyshakespeare": "MIT (char-rnn repository); the text is public domain",
    "multi30k": "none stated; non-commercial research and education; cite Elliott et al. 2016, 2017",
    "wnut17": "CC BY 4.0; cite Derczynski et al. 2017",
}


# sha256 of each file as written into data/<dataset>/ (after extraction): a changed or corrupted file
# is refused
SHA256: dict[str, str] = {
    "sst2/train.tsv": "48eac26399f8456935f81dd9e3a745c1430adb6c62e233ccfe22db4a0d15d1d1",
    "sst2/dev.tsv": "54a9c12c77e402fc14d6a66a506f24d999f596b0176eb777c972cccc2f9cc4b0",
    "tinyshakespeare/input.txt": "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    "multi30k/train.en": "460a15fbd157e34a7a9957ee388c1ca247fe47af3ef25fb50442af6c274e0fc6",
    "multi30k/train.de": "2c2b73fd2b548fbcde3a875e0a78d6ee94d498bfdee6bd3eae3945779e9ddf72",
    "multi30k/train.fr": "5925a3c18f1587b6b54b87743106e6e8ab93618edb6f65d19eac0621f853a10d",
    "multi30k/val.en": "1f2a23d992769b5b3d209b0a10dd0b77c08cceb1f20dfb97ed0aafa49d107227",
    "multi30k/val.de": "660e09eb7e1da2f856ea13ee5ad3cf6d36b3d5b0b733c857e94c5747a3dfc660",
    "multi30k/val.fr": "5304e444d842e962b2dda4d816b70b22a1765b15401642b7ca37a67477e708dc",
    "multi30k/test_2016_flickr.en": "399a4382932c1aadd3ceb9bef1008d388a64c76d4ae4e9d4728c6f4301cac182",
    "multi30k/test_2016_flickr.de": "4be6b5b3236b79c25475c6bb829800a7ce559e9ba7a1f6c2394fe4d40be46d16",
    "multi30k/test_2016_flickr.fr": "cb3160d69b002bb638e66cc7612fcd56cb0af82eadc9c142dedc438afb885ef6",
    "wnut17/train.conll": "707d8fbadf7ab186e7998fdcbea41470d25d0a453049f531d0c8d0c810a8d8cb",
    "wnut17/dev.conll": "e053b752b8155113ca66e7db08af5f2f5f43ab993694e4774f1ec5bad42312d8",
    "wnut17/test.conll": "2aa79b764e56ec9264a1b30fdd9b70195bd00ff400b62edd8f399d5f13c178f0",
}


def ensure_files(source: str | None, data_dir: str | Path, files: list[str]) -> Path:
    """data_dir holding `files`: those missing are fetched when `source` names a public dataset."""
    data_dir = Path(data_dir).expanduser()
    missing = [f for f in files if not (data_dir / f).is_file()]
    if not missing:
        return data_dir
    if source is None:
        if not data_dir.is_dir():
            raise SeqlabError(f"data dir {data_dir} does not exist; set dataset.data_dir to the folder of "
                              "your files")
        raise SeqlabError(f"{data_dir / missing[0]} does not exist; put the file there or set "
                          "dataset.data_dir and the dataset's file names")
    if source not in DATASETS:
        raise SeqlabError(f"unknown dataset source '{source}'; sources: {', '.join(DATASETS)}")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=data_dir, prefix=".write-check-")
        probe.close()
    except OSError as err:
        raise SeqlabError(f"cannot create data dir {data_dir} ({err.strerror or err}); set paths.data_dir to "
                          "a folder you can write") from None
    for name in missing:
        fetch(source, name, data_dir)
    return data_dir


def fetch(source: str, name: str, data_dir: Path) -> Path:
    """data_dir/name, downloaded from the origin or the mirror; the file must have the sha256 pinned in
    SHA256, and is written to a temporary name and renamed when whole."""
    if name not in DATASETS[source]:
        raise SeqlabError(f"{source} has no file '{name}'; its files: {', '.join(DATASETS[source])}")
    mirror = os.environ.get(MIRROR_ENV)
    data = _from_mirror(mirror, source, name, data_dir) if mirror else _from_origin(source, name, data_dir)
    where = f"{mirror.rstrip('/')}/{source}/{name}" if mirror else DATASETS[source][name].url
    problem = check(source, name, data)
    if problem:
        raise SeqlabError(f"fetched {source}/{name} from {where}, but {problem}; nothing was written to "
                          f"{data_dir}")
    digest, pinned = hashlib.sha256(data).hexdigest(), SHA256[f"{source}/{name}"]
    if digest != pinned:
        raise SeqlabError(f"fetched {source}/{name} from {where}, but its sha256 is {digest}, not the "
                          f"{pinned} seqlab pins: the file is corrupted or changed; nothing was written to "
                          f"{data_dir}")
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
    from requests import HTTPError

    try:
        return _get(where)
    except HTTPError as err:
        code = err.response.status_code
        reason = "no such file in the mirror" if code == 404 else f"HTTP {code}"
        raise SeqlabError(f"cannot fetch {where}: {reason}; {hint}") from None
    except OSError as err:
        raise SeqlabError(f"cannot fetch {where}: {err}; {hint}") from None


def _from_origin(source: str, name: str, data_dir: Path) -> bytes:
    origin = DATASETS[source][name]
    try:
        return origin.extract(_get(origin.url))
    except (OSError, zipfile.BadZipFile, KeyError, EOFError) as err:
        raise SeqlabError(
            f"cannot fetch {source}/{name} from {origin.url} ({type(err).__name__}); download it by hand "
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
        bad_lines = (i for i, line in enumerate(lines, 1) if line.strip() and len(line.split("\t")) != 2)
        bad = next(bad_lines, None)
        if bad is not None:
            return f"line {bad} is not 'token<TAB>tag'"
    return None


@cache  # an archive holding several files (SST-2's zip) is downloaded once a process
def _get(url: str) -> bytes:
    """The bytes at url, downloaded by pooch with a progress bar on stderr."""
    import pooch

    # the bar says what is downloading; not the temporary file it goes to
    pooch.get_logger().setLevel("WARNING")
    with tempfile.TemporaryDirectory(prefix="seqlab-download-") as folder:
        return Path(pooch.retrieve(url, known_hash=None, path=folder, progressbar=True)).read_bytes()
