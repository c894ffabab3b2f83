"""Fixtures: configs composed with Hydra's compose API (as pipelines/train.py composes them), a shared MLflow
store per test session, tiny datasets written in the real layout, and the real data mirror when present."""

from __future__ import annotations

import contextlib
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"


MIRROR_ENV = os.environ.get("SEQLAB_DATA_MIRROR")  # read once here: _clean_env removes it from every test


def real_mirror() -> Path | None:
    """The real datasets: SEQLAB_DATA_MIRROR (as the session started with it) if it is a folder, else
    ../shared/data beside the checkout."""
    for candidate in (MIRROR_ENV, ROOT.parent / "shared" / "data"):
        if candidate and "://" not in str(candidate) and Path(candidate).is_dir():
            return Path(candidate)
    return None


needs_mirror = pytest.mark.skipif(real_mirror() is None, reason="real datasets absent: set SEQLAB_DATA_MIRROR")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("SEQLAB_DATA_MIRROR", raising=False)
    monkeypatch.delenv("SEQLAB_RUN_DIR", raising=False)


@pytest.fixture
def one_torch_thread():
    """Tiny models gain nothing from threads, and lose much to them on a busy machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tracking_uri(tmp_path_factory) -> str:
    """One SQLite MLflow store for the session (creating one costs seconds), created here: commands refuse a store
    file that does not exist."""
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    MlflowClient(uri).search_experiments()
    return uri


def compose_train(root: Path, overrides: list[str], tracking_uri: str, output_dir: Path):
    """The train config of `python pipelines/train.py <overrides>` with data under root, the run in output_dir and
    MLflow in tracking_uri, outside a test's compose_cfg (for module fixtures)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
        HydraConfig.instance().set_config(cfg)
        with open_dict(cfg):
            cfg.paths.root_dir = str(root)
            cfg.paths.output_dir = str(output_dir)
            cfg.logger.tracking_uri = tracking_uri
            del cfg["hydra"]
    GlobalHydra.instance().clear()
    return cfg


def run_under(tracking_uri: str, folder: Path):
    """The one MLflow run logged from a run folder under `folder` (a test's tmp_path): this test's run, not the
    newest of the session's store."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments, f"tags.run_dir LIKE '{folder}/%'")
    assert len(runs) == 1, [r.data.tags.get("run_dir") for r in runs]
    return runs[0]


def kept_checkpoint(run_dir: Path) -> Path:
    """The checkpoint a run kept as its best (model_checkpoint's epochNN.ckpt): the weights its test split scores."""
    [path] = (run_dir / "checkpoints").glob("epoch*.ckpt")
    return path


def history_values(tracking_uri: str, run, key: str) -> list[float]:
    """Every value a run logged for `key`, by step."""
    from mlflow.tracking import MlflowClient

    history = MlflowClient(tracking_uri).get_metric_history(run.info.run_id, key)
    return [m.value for m in sorted(history, key=lambda m: m.step)]


@pytest.fixture
def compose_cfg(tmp_path, tracking_uri):
    """compose_cfg(overrides) -> the train config, as `python pipelines/train.py <overrides>` would build it,
    with data/ and outputs/ under tmp_path and MLflow in the session store."""

    def _compose(overrides: list[str], config_name: str = "train"):
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            cfg = compose(config_name, overrides=overrides, return_hydra_config=True)
            HydraConfig.instance().set_config(cfg)
            with open_dict(cfg):
                cfg.paths.root_dir = str(tmp_path)
                cfg.paths.output_dir = str(tmp_path / "run")
                if "logger" in cfg and "tracking_uri" in (cfg.logger or {}):
                    cfg.logger.tracking_uri = tracking_uri
                del cfg["hydra"]
        return cfg

    yield _compose
    GlobalHydra.instance().clear()


POSITIVE = ["great", "wonderful", "moving", "brilliant", "fun", "charming", "superb", "lovely"]
NEGATIVE = ["dull", "awful", "boring", "clumsy", "tedious", "messy", "bland", "painful"]
FILLER = ["the", "film", "is", "a", "story", "and", "really", "quite", "movie", "plot", "with", "cast"]


def sentiment_rows(n: int, seed: int = 0) -> list[tuple[str, int]]:
    """Sentences whose label follows from their sentiment words, of varied lengths."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = i % 2
        words = rng.choices(FILLER, k=rng.randint(2, 12))
        words.insert(rng.randrange(len(words) + 1), rng.choice(POSITIVE if label else NEGATIVE))
        rows.append((" ".join(words), label))
    return rows


def write_sst2_layout(folder: Path, n_train: int = 300, n_dev: int = 60) -> Path:
    """data/sst2/{train,dev}.tsv in GLUE's layout (header `sentence<TAB>label`)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, n, seed in (("train.tsv", n_train, 0), ("dev.tsv", n_dev, 1)):
        lines = ["sentence\tlabel"] + [f"{t} \t{y}" for t, y in sentiment_rows(n, seed)]
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def sst2_dir(tmp_path) -> Path:
    """A tiny SST-2 already in place under <tmp>/data/sst2."""
    return write_sst2_layout(tmp_path / "data" / "sst2")


# word-for-word captions: en, fr, de
LEXICON = [("a", "un", "ein"), ("man", "homme", "Mann"), ("dog", "chien", "Hund"), ("child", "enfant", "Kind"),
           ("runs", "court", "rennt"), ("sits", "assis", "sitzt"), ("on", "sur", "auf"), ("the", "le", "dem"),
           ("red", "rouge", "roten"), ("big", "grand", "großen"), ("street", "rue", "Straße"),
           ("grass", "herbe", "Gras")]


def caption_triples(n: int, seed: int = 0) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        words = rng.choices(LEXICON, k=rng.randint(2, 7))
        rows.append(tuple(" ".join(w[lang] for w in words).capitalize() + "." for lang in range(3)))
    return rows


def write_multi30k_layout(folder: Path, n_train: int = 200, n_val: int = 30, n_test: int = 30) -> Path:
    """data/multi30k/{train,val,test_2016_flickr}.{en,fr,de}, line-aligned, in Multi30k's layout."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, n, seed in (("train", n_train, 0), ("val", n_val, 1), ("test_2016_flickr", n_test, 2)):
        triples = caption_triples(n, seed)
        for column, lang in enumerate(("en", "fr", "de")):
            (folder / f"{split}.{lang}").write_text("".join(t[column] + "\n" for t in triples), encoding="utf-8")
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_answering(url: str, process: subprocess.Popen, seconds: float, what: str, stop) -> None:
    """Until `url` answers; `stop()` and a test failure with the process's stderr if it exits or `seconds` pass."""
    deadline = time.time() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if process.poll() is not None or time.time() > deadline:
                stop()
                pytest.fail(f"{what} did not start: {process.communicate()[1][-3000:]}")
            time.sleep(0.5)


@contextlib.contextmanager
def running_mlflow_server(folder: Path, backend: str | None = None):
    """A real MLflow tracking server (SQLite backend unless `backend` names another) on a free 127.0.0.1 port:
    yields (url, process)."""
    port = free_port()
    command = [
        sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend or f"sqlite:///{folder}/mlflow.db",
        "--artifacts-destination", str(folder / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/health", process, 120, "mlflow server", process.kill)
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """One server for a test module, stopped at the end."""
    with running_mlflow_server(tmp_path_factory.mktemp("server")) as (url, _):
        yield url


def pin_sha256(monkeypatch, folder: Path) -> None:
    """The downloader refuses files whose sha256 it does not pin: pin those of a test's tiny <dataset>/ folder."""
    import hashlib

    from seqlab.data import download

    for path in folder.iterdir():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        monkeypatch.setitem(download.SHA256, f"{folder.name}/{path.name}", digest)


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """A tiny BERT encoder and its WordPiece tokenizer, saved with save_pretrained (tests/tiny_bert.py); its
    vocabulary is learnt from the sentences write_sst2_layout writes."""
    from tiny_bert import save_tiny_bert, trained_vocab

    return save_tiny_bert(tmp_path_factory.mktemp("tiny_bert"), trained_vocab([t for t, _ in sentiment_rows(300)]))
