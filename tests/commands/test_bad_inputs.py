"""Each mistake a user can make ends in one clear message, and no MLflow run is left RUNNING."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from seqlab.commands.train import train
from seqlab.errors import SeqlabError

from conftest import ROOT, pin_sha256, run_under, write_sst2_layout


def fails_with(compose_cfg, tracking_uri, overrides, message):
    """The run fails with `message`, and its MLflow run (this test's own) ends FAILED, not RUNNING."""
    cfg = compose_cfg(overrides)
    with pytest.raises(SeqlabError, match=message):
        train(cfg)
    assert run_under(tracking_uri, Path(cfg.paths.output_dir).parent).info.status == "FAILED"


def files_dataset(folder: Path, train_text: str, dev_text: str, name: str = "train.tsv") -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(train_text, encoding="utf-8")
    (folder / "dev.tsv").write_text(dev_text, encoding="utf-8")
    return ["dataset=files", f"dataset.data_dir={folder}", f"dataset.train_file={name}", "debug=smoke"]


GOOD = "text\tlabel\n" + "".join(f"a good film {i}\tpos\nan awful film {i}\tneg\n" for i in range(20))


def test_data_dir_that_does_not_exist(compose_cfg, tracking_uri, tmp_path):
    fails_with(
        compose_cfg, tracking_uri, ["dataset=files", f"dataset.data_dir={tmp_path}/nowhere", "debug=smoke"],
        r"data dir .*nowhere does not exist; set dataset.data_dir",
    )
    assert run_under(tracking_uri, tmp_path).info.status == "FAILED"


def test_data_dir_that_cannot_be_written(compose_cfg, tracking_uri, tmp_path):
    (tmp_path / "a_file").write_text("")
    fails_with(
        compose_cfg, tracking_uri, [f"paths.data_dir={tmp_path}/a_file", "debug=smoke"],
        r"cannot create data dir .*a_file/sst2 .*set paths.data_dir to a folder you can write",
    )


def test_missing_files_that_cannot_be_fetched(compose_cfg, tracking_uri, tmp_path, monkeypatch):
    empty_mirror = tmp_path / "mirror"
    empty_mirror.mkdir()
    monkeypatch.setenv("SEQLAB_DATA_MIRROR", str(empty_mirror))
    fails_with(
        compose_cfg, tracking_uri, ["debug=smoke"],
        r"cannot fetch .*mirror/sst2/train.tsv: no such file in the mirror; download it by hand into data/",
    )


def test_wrong_column_lists_the_columns_found(compose_cfg, tracking_uri, tmp_path):
    overrides = files_dataset(tmp_path / "mine", GOOD, GOOD)
    fails_with(
        compose_cfg, tracking_uri, [*overrides, "dataset.text_column=review"],
        r"no column 'review' .*columns found: 'text', 'label'; set dataset.text_column",
    )


def test_empty_split(compose_cfg, tracking_uri, tmp_path):
    overrides = files_dataset(tmp_path / "mine", GOOD, "text\tlabel\n")
    fails_with(compose_cfg, tracking_uri, overrides, r"the val split \(.*dev.tsv\) has no rows")


def test_label_outside_the_known_set(compose_cfg, tracking_uri, tmp_path):
    overrides = files_dataset(tmp_path / "mine", GOOD, GOOD + "a strange film\tmeh\n")
    fails_with(compose_cfg, tracking_uri, overrides, r"val split has label\(s\) \['meh'\] outside the known set")


def test_label_names_that_do_not_match_the_labels_found(compose_cfg, tracking_uri, tmp_path):
    overrides = files_dataset(tmp_path / "mine", GOOD + "a fair film\tmeh\n", GOOD)
    fails_with(compose_cfg, tracking_uri, [*overrides, "dataset.label_names=[negative,positive]"],
               r"dataset.label_names has 2 name\(s\) for the 3 labels \['meh', 'neg', 'pos'\]; give one name per")


def test_an_empty_label_names_its_line(compose_cfg, tracking_uri, tmp_path):
    overrides = files_dataset(tmp_path / "mine", GOOD + "a film with no label\t\n", GOOD)
    fails_with(compose_cfg, tracking_uri, overrides, r"train.tsv, line 42: the column 'label' is empty")


def test_non_utf8_bytes_name_file_and_line(compose_cfg, tracking_uri, tmp_path):
    folder = tmp_path / "mine"
    overrides = files_dataset(folder, GOOD, GOOD)
    (folder / "train.tsv").write_bytes(b"text\tlabel\nfine\tpos\ncaf\xe9 latin-1\tneg\n")
    fails_with(compose_cfg, tracking_uri, overrides, r"train.tsv, line 3: bytes that are not UTF-8")


def test_malformed_jsonl_names_the_line(compose_cfg, tracking_uri, tmp_path):
    lines = '{"text": "good", "label": "pos"}\n{"text": "bad", "label": \n'
    overrides = files_dataset(tmp_path / "mine", lines, GOOD, name="train.jsonl")
    fails_with(compose_cfg, tracking_uri, overrides, r"train.jsonl, line 2: not valid JSON")


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.net.hidden_size=big", r"model.net.hidden_size='big' has the wrong type; expected int"),
        ("model.net.pooling=median", r"model.net.pooling='median' is not a valid choice; choices: last, mean"),
        ("dataset.batch_size=0", r"dataset.batch_size and dataset.eval_batch_size must be at least 1"),
        ("dataset.max_train_samples=0", r"dataset.max_train_samples=0 must be at least 1 row, or null for every row"),
    ],
)
def test_bad_config_values(compose_cfg, tracking_uri, sst2_dir, override, message):
    fails_with(compose_cfg, tracking_uri, ["debug=smoke", override], message)


@pytest.mark.parametrize("model, task, fitting", [
    ("rnn_lm", "language_model", "cnn, lstm, pretrained_classifier, rnn, transformer"),
    ("spacy_ner", "ner", "cnn, lstm, pretrained_classifier, rnn, transformer"),
])
def test_a_model_that_does_not_fit_the_dataset_lists_the_models_that_do(compose_cfg, tracking_uri, model, task,
                                                                       fitting):
    fails_with(compose_cfg, tracking_uri, [f"model={model}", "debug=smoke"],
               rf"model '{model}' is a {task} model and dataset 'sst2' is a classification dataset: they do not "
               rf"fit; models for classification: {fitting}$")


def test_fetches_from_an_http_mirror(compose_cfg, tmp_path, monkeypatch):
    """The downloader takes SEQLAB_DATA_MIRROR as an http URL serving data/<dataset>/<file>."""
    served = write_sst2_layout(tmp_path / "served" / "sst2").parent
    pin_sha256(monkeypatch, served / "sst2")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("SEQLAB_DATA_MIRROR", f"http://127.0.0.1:{server.server_address[1]}")
        train(compose_cfg(["debug=smoke", "logger=none"]))
    finally:
        server.shutdown()
    fetched = tmp_path / "data" / "sst2" / "train.tsv"
    assert fetched.read_bytes() == (served / "sst2" / "train.tsv").read_bytes()


def run_script(args: list[str], cwd: Path, tracking_uri: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri}
    return subprocess.run(
        [sys.executable, str(ROOT / "pipelines" / "train.py"), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )


def test_the_script_exits_non_zero_with_one_clear_line(tmp_path, tracking_uri):
    args = ["dataset=files", f"dataset.data_dir={tmp_path}/nowhere", "debug=smoke"]
    result = run_script(args, tmp_path, tracking_uri)
    assert result.returncode == 1
    assert f"error: data dir {tmp_path}/nowhere does not exist" in result.stderr
    assert "Traceback" not in result.stderr
    assert run_under(tracking_uri, tmp_path).info.status == "FAILED"


@pytest.mark.parametrize("override, listed", [("model=transformerz", "cnn"), ("dataset=imdb", "sst2")])
def test_unknown_group_option_lists_the_choices(tmp_path, tracking_uri, override, listed):
    result = run_script([override], tmp_path, tracking_uri)
    assert result.returncode == 1
    assert "Available options" in result.stderr and listed in result.stderr


def test_the_script_says_which_models_fit_the_dataset(tmp_path, tracking_uri):
    result = run_script(["dataset=multi30k", "model=lstm", "debug=smoke"], tmp_path, tracking_uri)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: model 'lstm' is a classification model and dataset 'multi30k' is a translation "
                      "dataset: they do not fit; models for translation: seq2seq, "
                      "transformer_seq2seq"], result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert run_under(tracking_uri, tmp_path).info.status == "FAILED"
