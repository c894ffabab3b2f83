"""End-to-end translation runs through the same config and code path as `python pipelines/train.py`, the translate
CLI on their results, and bad input through the whole pipeline."""

from __future__ import annotations

import os
import subprocess
import sys

import mlflow
import pytest
import torch
from conftest import ROOT, caption_triples, write_multi30k_layout
from mlflow.tracking import MlflowClient

from seqlab.errors import SeqlabError
from seqlab.inference.translator import Translator
from seqlab.train import train

TINY = ["model.net.embed_dim=24", "model.net.hidden_size=24", "model.net.decoder_hidden_size=32",
        "model.net.attention_dim=16", "dataset.max_eval_samples=12"]
METRICS = {"train/loss", "train/tokens_per_sec", "val/loss", "val/ppl", "val/bleu", "val/chrf", "test/bleu",
           "test/chrf", "test/bleu_greedy", "test/ppl", "test/sent_per_sec_greedy", "test/sent_per_sec_beam"}


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def multi30k_dir(tmp_path):
    return write_multi30k_layout(tmp_path / "data" / "multi30k")


def latest_run(tracking_uri: str, experiment: str = "multi30k-translation"):
    client = MlflowClient(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    return client.search_runs([found.experiment_id], order_by=["start_time DESC"], max_results=1)[0]


@pytest.mark.parametrize("preset", ["translate_seq2seq", "translate_attention", "translate_luong"])
def test_each_preset_lands_a_finished_run(preset, compose_cfg, multi30k_dir, tracking_uri):
    value = train(compose_cfg([f"experiment={preset}", "debug=smoke", *TINY]))
    assert 0.0 <= value <= 100.0

    run = latest_run(tracking_uri)
    client = MlflowClient(tracking_uri)
    assert run.info.status == "FINISHED"
    assert METRICS <= set(run.data.metrics)
    assert run.data.params["dataset.src_lang"] == "en" and run.data.params["dataset.tgt_lang"] == "fr"
    assert run.data.tags["task"] == "translation"
    reports = {a.path for a in client.list_artifacts(run.info.run_id, "reports")}
    assert {"reports/test_translations.csv", "reports/samples.txt", "reports/data.json"} <= reports
    heatmaps = [a.path for a in client.list_artifacts(run.info.run_id, "reports/attention")]
    if preset == "translate_seq2seq":
        assert not heatmaps
    else:
        assert sorted(heatmaps) == [f"reports/attention/{i:02d}.png" for i in range(1, 5)]
    mlflow.set_tracking_uri(tracking_uri)
    model = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    table = model.predict(["A man runs on the street.", "A dog."], params={"beam_size": 1})
    assert list(table["source"]) == ["A man runs on the street.", "A dog."] and len(table["translation"]) == 2


def test_overfit_translates_its_pairs_back_exactly(compose_cfg, multi30k_dir, tmp_path):
    """debug=overfit on 20 pairs: the tiny attention model must learn them by heart."""
    value = train(compose_cfg([
        "experiment=translate_attention", "debug=overfit", "logger=none", "trainer.max_epochs=80",
        "model.optimizer.lr=0.01", "model.net.dropout=0.0", "model.label_smoothing=0.0", "model.scheduler=null",
        "model.heatmap_sentences=0", *TINY[:4],
    ]))
    triples = caption_triples(200, seed=0)[:20]
    translator = Translator.from_bundle(tmp_path / "run" / "model")
    translations = translator.translate([en for en, _, _ in triples], beam_size=1)
    assert [t.text for t in translations] == [fr for _, fr, _ in triples]
    assert 0.0 <= value <= 100.0  # val/bleu, on val pairs it never saw


def make(target: str, args: str, tracking_uri: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "OMP_NUM_THREADS": "1"}
    return subprocess.run(["make", "-s", target, f"PY={sys.executable}", f"ARGS={args}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_make_translate_from_a_run_and_from_a_checkpoint(compose_cfg, multi30k_dir, tracking_uri, tmp_path):
    train(compose_cfg(["experiment=translate_attention", "debug=smoke", "trainer.max_epochs=2", *TINY]))
    run_id = latest_run(tracking_uri).info.run_id
    heatmaps = tmp_path / "heatmaps"
    result = make("translate", f'run_id={run_id} text="A man runs." beam_size=3 heatmaps={heatmaps}', tracking_uri)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(result.stdout.strip().splitlines()) == 1 and (heatmaps / "01.png").is_file()

    lines = tmp_path / "captions.txt"
    lines.write_text("A dog sits.\n\nA child runs on the grass.\n", encoding="utf-8")
    checkpoint = sorted((tmp_path / "run" / "checkpoints").glob("epoch*.ckpt"))[0]
    result = make("translate", f"checkpoint={checkpoint} file={lines} beam_size=1", tracking_uri)
    assert result.returncode == 0, result.stderr[-3000:]
    outputs = result.stdout.split("\n")[:3]
    assert outputs[1] == "" and outputs[0] and outputs[2]
    translator = Translator.from_checkpoint(checkpoint)
    assert [t.text for t in translator.translate(["A dog sits.", "A child runs on the grass."], beam_size=1)] == [
        outputs[0], outputs[2]]


def test_bad_parallel_files_fail_the_run_with_both_counts(compose_cfg, multi30k_dir, tracking_uri):
    (multi30k_dir / "val.fr").write_text("Un chien.\n", encoding="utf-8")
    with pytest.raises(SeqlabError, match=r"val.en has 30 lines and .*val.fr has 1"):
        train(compose_cfg(["experiment=translate_attention", "debug=smoke", *TINY]))
    assert latest_run(tracking_uri).info.status == "FAILED"


@pytest.mark.parametrize("overrides, message", [
    (["dataset.tgt_lang=es"], r"unknown language code dataset.tgt_lang='es' for multi30k; languages: en, de, fr"),
    (["optimized_metric=val/acc"], r"optimized_metric=val/acc is not a translation metric; choices: val/bleu"),
    (["model.net.attention=copy"], r"model.net.attention='copy' is not a valid choice; choices: none, bahdanau, luong"),
])
def test_bad_options_say_what_to_fix(overrides, message, compose_cfg, multi30k_dir):
    with pytest.raises(SeqlabError, match=message):
        train(compose_cfg(["experiment=translate_attention", "debug=smoke", "logger=none", *overrides]))

