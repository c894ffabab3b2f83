"""Every family's logged model loads and predicts in a fresh virtual environment built from the model's own
requirements.txt, where seqlab is not installed (only the model's code/ carries it), and answers there as it
answers here. One venv serves them all: each family's requirements are installed into it before its model loads
in a process of its own, the families that need less first."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from seqlab.commands.train import train

from conftest import compose_train, sentiment_rows, write_multi30k_layout, write_sst2_layout
from lm_corpus import write_tinyshakespeare_layout
from ner_data import write_wnut17_layout
from tiny_bert import save_tiny_bert, trained_vocab, words_and_letters

pytestmark = pytest.mark.slow

SENTENCES = ["a wonderful film", "the plot is dull and the cast quite awful"]
# family -> (overrides of its smoke run, the texts it answers, the params it is asked with)
FAMILIES = {
    "classifier": (["model=cnn", "debug=smoke"], SENTENCES, None),
    "translator": (["experiment=translate_attention", "debug=smoke", "model.net.embed_dim=24",
                    "model.net.hidden_size=24", "model.net.decoder_hidden_size=32"],
                   ["A man runs on the street.", "A dog sits."], {"beam_size": 2}),
    "language_model": (["experiment=textgen_rnn", "debug=smoke", "dataset.block_size=32", "dataset.batch_size=8",
                        "dataset.max_train_samples=64", "dataset.max_eval_samples=16",
                        "model.sample_max_new_tokens=10"],
                       ["ROMEO:", "JULIET:"], {"max_new_tokens": 12, "do_sample": False}),
    "spacy_ner": (["experiment=ner_spacy", "debug=smoke"],
                  ["I met Alice Smith in New York yesterday .", "Bob Jones works for Tesla now !"], None),
    "finetuned_classifier": (["experiment=sentiment_finetune", "debug=smoke", "model.attention_sentences=0",
                              "model.scheduler.num_warmup_steps=2"], SENTENCES, None),
    "finetuned_ner": (["experiment=ner_finetune", "debug=smoke", "model.scheduler.num_warmup_steps=2"],
                      ["lol Alice met Bob in Paris .", "Google opened a shop in New York today"], None),
}


def write_data(family: str, data: Path, bert: Path) -> list[str]:
    """The family's tiny dataset under data/; the overrides that point a run at what it needs besides."""
    if family in ("classifier", "finetuned_classifier"):
        write_sst2_layout(data / "sst2")
    elif family == "translator":
        write_multi30k_layout(data / "multi30k")
    elif family == "language_model":
        write_tinyshakespeare_layout(data / "tinyshakespeare")
    else:
        write_wnut17_layout(data / "wnut17")
    if family == "finetuned_classifier":
        return [f"model.net.pretrained={bert / 'sst2'}"]
    return [f"model.net.pretrained={bert / 'wnut17'}"] if family == "finetuned_ner" else []


@pytest.fixture(scope="module")
def bert(tmp_path_factory) -> Path:
    """Tiny BERTs saved with save_pretrained: one with a vocabulary of the SST-2 sentences, one of words and
    letters for the NER sentences."""
    folder = tmp_path_factory.mktemp("bert")
    save_tiny_bert(folder / "sst2", trained_vocab([t for t, _ in sentiment_rows(300)]))
    save_tiny_bert(folder / "wnut17", words_and_letters(["i", "met", "in", "and", "a", "shop", "today", "paris"]))
    return folder


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Iterator[Path]:
    """The python of a fresh virtual environment (no seqlab, no requirements yet), removed after the module's
    tests: with every family's requirements it holds about 2 GB."""
    folder = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, timeout=300)
    yield folder / "bin" / "python"
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_the_logged_model_answers_in_a_fresh_venv_as_here(family, venv, bert, tracking_uri, tmp_path):
    overrides, texts, params = FAMILIES[family]
    root = tmp_path / family
    extra = write_data(family, root / "data", bert)
    train(compose_train(root, [*overrides, *extra], tracking_uri, root / "run"))
    client = MlflowClient(tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    [run] = client.search_runs(experiments, f"tags.run_dir = '{root / 'run'}'")
    mlflow.set_tracking_uri(tracking_uri)
    folder = Path(mlflow.artifacts.download_artifacts(f"runs:/{run.info.run_id}/model",
                                                      dst_path=str(tmp_path / "model")))
    here = json.loads(mlflow.pyfunc.load_model(str(folder)).predict(texts, params=params).to_json(orient="records"))
    assert here, "the model answered nothing here"

    install = subprocess.run([str(venv), "-m", "pip", "install", "-q", "-r", str(folder / "requirements.txt")],
                             capture_output=True, text=True, timeout=3000)
    assert install.returncode == 0, install.stderr[-3000:]
    script = ("import importlib.util, json, sys, mlflow\n"
              "assert importlib.util.find_spec('seqlab') is None\n"
              f"model = mlflow.pyfunc.load_model({str(folder)!r})\n"
              f"print(model.predict({texts!r}, params={params!r}).to_json(orient='records'))\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MLFLOW_TRACKING_URI")}
    result = subprocess.run([str(venv), "-c", script], capture_output=True, text=True, timeout=600, env=env,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    there = json.loads(result.stdout.splitlines()[-1])
    assert [sorted(row) for row in there] == [sorted(row) for row in here]
    for row_there, row_here in zip(there, here, strict=True):
        for key, value in row_here.items():
            expected = pytest.approx(value, abs=1e-5) if isinstance(value, float) else value
            assert row_there[key] == expected, (family, key)
