"""`make predict` labels texts with a finished run from MLflow, or with a checkpoint file."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from seqlab.commands.train import train
from seqlab.inference.text_classifier import TextClassifier

from conftest import ROOT, kept_checkpoint, run_under


@pytest.fixture
def finished_run(compose_cfg, sst2_dir, tracking_uri, tmp_path):
    """(run id, the checkpoint it kept) of a classification run this test started."""
    train(compose_cfg(["model=cnn", "debug=smoke", "trainer.max_epochs=3"]))
    return run_under(tracking_uri, tmp_path).info.run_id, kept_checkpoint(tmp_path / "run")


def make_predict(args: str, tracking_uri: str, **env: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, **env}
    return subprocess.run(
        ["make", "-s", "predict", f"PY={sys.executable}", f"ARGS={args}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )


def parse(stdout: str) -> list[tuple[str, float, str]]:
    rows = [line.split("\t") for line in stdout.splitlines() if line.count("\t") == 2]
    return [(label, float(prob), text) for label, prob, text in rows]


def assert_checkpoint_predictions(rows: list[tuple[str, float, str]], checkpoint) -> None:
    """The printed labels and probabilities are those the checkpoint's own TextClassifier gives the texts."""
    expected = TextClassifier.from_checkpoint(checkpoint).predict([text for *_, text in rows])
    assert [label for label, _, _ in rows] == [e["label"] for e in expected]
    assert [p for _, p, _ in rows] == pytest.approx([e["probability"] for e in expected], abs=1e-3)


def test_make_predict_prints_label_and_probability(finished_run, tracking_uri, tmp_path):
    run_id, checkpoint = finished_run
    temp = tmp_path / "temp"
    temp.mkdir()
    result = make_predict(f'run_id={run_id} text="I love this movie"', tracking_uri, TMPDIR=str(temp))
    assert result.returncode == 0, result.stderr
    assert not list(temp.iterdir())  # the run's model, downloaded there, is removed when the command ends
    rows = parse(result.stdout)
    assert [text for *_, text in rows] == ["I love this movie"]
    assert_checkpoint_predictions(rows, checkpoint)  # the run's logged model holds the kept checkpoint's weights


def test_predict_from_a_checkpoint_and_a_file(finished_run, tracking_uri, tmp_path):
    _, checkpoint = finished_run
    lines = tmp_path / "reviews.txt"
    lines.write_text("a wonderful film\n\nthe plot is dull\n", encoding="utf-8")
    result = make_predict(f"checkpoint={checkpoint} file={lines}", tracking_uri)
    assert result.returncode == 0, result.stderr
    rows = parse(result.stdout)
    assert [text for *_, text in rows] == ["a wonderful film", "the plot is dull"]
    assert_checkpoint_predictions(rows, checkpoint)


def test_predict_with_an_unknown_run_says_so(tracking_uri):
    result = make_predict("run_id=0123456789abcdef text=hello", tracking_uri)
    assert result.returncode != 0
    assert "error: no MLflow run '0123456789abcdef'" in result.stderr


def test_a_checkpoint_of_another_task_is_refused_with_where_it_belongs(tmp_path):
    """A language model's checkpoint also holds a tokenizer, but no labels."""
    import torch

    from seqlab.errors import SeqlabError

    path = tmp_path / "lm.ckpt"
    torch.save({"net_config": {"_target_": "seqlab.models.rnn_lm.RNNLanguageModel"}, "state_dict": {},
                "LanguageModelDataModule": {"tokenizer": "{}", "position": None}}, path)
    with pytest.raises(SeqlabError, match=r"lm.ckpt is not a seqlab classification checkpoint \(no labels"):
        TextClassifier.from_checkpoint(path)


@pytest.mark.parametrize("content", [b"hello\n", b""])
def test_a_file_that_is_not_a_checkpoint_is_named(tmp_path, content):
    from seqlab.errors import SeqlabError
    from seqlab.inference.translator import Translator

    path = tmp_path / "notes.ckpt"
    path.write_bytes(content)
    for loader, kind in ((TextClassifier, "classification"), (Translator, "translation")):
        with pytest.raises(SeqlabError, match=rf"notes.ckpt is not a checkpoint a seqlab run wrote .*a {kind} run"):
            loader.from_checkpoint(path)
