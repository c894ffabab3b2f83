"""End-to-end translation runs through the same config and code path as `python pipelines/train.py`, the translate
CLI on their results, and bad input through the whole pipeline."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
import torch
from mlflow.tracking import MlflowClient
from sacrebleu.metrics import BLEU, CHRF

from seqlab.commands.train import train
from seqlab.data.download import LICENSES
from seqlab.errors import SeqlabError
from seqlab.inference.translator import Translator

from conftest import ROOT, caption_triples, history_values, kept_checkpoint, run_under, write_multi30k_layout

TINY = ["model.net.embed_dim=24", "model.net.hidden_size=24", "model.net.decoder_hidden_size=32",
        "model.net.attention_dim=16", "dataset.max_eval_samples=12"]
METRICS = {"train/loss", "train/tokens_per_sec", "val/loss", "val/ppl", "val/bleu", "val/chrf", "test/bleu",
           "test/chrf", "test/bleu_greedy", "test/ppl", "test/sent_per_sec_greedy", "test/sent_per_sec_beam"}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def multi30k_dir(tmp_path):
    return write_multi30k_layout(tmp_path / "data" / "multi30k")


def assert_tested_with_the_kept_checkpoint(run, run_dir) -> None:
    """reports/test_translations.csv holds what the checkpoint the run kept translates (with its own decoding
    options), and test/bleu and test/chrf score those translations: the test split was decoded with the kept
    weights."""
    with open(run_dir / "reports" / "test_translations.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    translations = Translator.from_checkpoint(kept_checkpoint(run_dir)).translate([row["source"] for row in rows])
    hypotheses, references = [row["hypothesis"] for row in rows], [[row["reference"] for row in rows]]
    assert [t.text for t in translations] == hypotheses
    assert run.data.metrics["test/bleu"] == pytest.approx(BLEU().corpus_score(hypotheses, references).score)
    assert run.data.metrics["test/chrf"] == pytest.approx(CHRF().corpus_score(hypotheses, references).score)


def assert_returns_the_best_val_bleu(value: float, tracking_uri: str, run) -> None:
    assert value == pytest.approx(max(history_values(tracking_uri, run, "val/bleu")))


@pytest.mark.parametrize("preset", ["translate_seq2seq", "translate_attention", "translate_luong"])
def test_each_preset_lands_a_finished_run(preset, compose_cfg, multi30k_dir, tracking_uri, tmp_path):
    value = train(compose_cfg([f"experiment={preset}", "debug=smoke", "trainer.max_epochs=2", *TINY]))
    run = run_under(tracking_uri, tmp_path)
    client = MlflowClient(tracking_uri)
    assert run.info.status == "FINISHED"
    assert METRICS <= set(run.data.metrics)
    assert_returns_the_best_val_bleu(value, tracking_uri, run)
    assert_tested_with_the_kept_checkpoint(run, tmp_path / "run")
    for stage in ("val", "test"):  # plain token-weighted cross-entropy: the perplexity is its exponential
        assert run.data.metrics[f"{stage}/ppl"] == pytest.approx(math.exp(run.data.metrics[f"{stage}/loss"]), rel=1e-4)
    assert run.data.params["dataset.src_lang"] == "en" and run.data.params["dataset.tgt_lang"] == "fr"
    assert run.data.tags["task"] == "translation"
    inputs = {i.dataset.name: json.loads(i.dataset.source)["uris"] for i in run.inputs.dataset_inputs}
    assert [Path(u).name for u in inputs["multi30k-val"]] == ["val.en", "val.fr"]
    reports = {a.path for a in client.list_artifacts(run.info.run_id, "reports")}
    assert {"reports/test_translations.csv", "reports/samples.txt", "reports/data.json"} <= reports
    heatmaps = [a.path for a in client.list_artifacts(run.info.run_id, "reports/attention")]
    if preset == "translate_seq2seq":
        assert not heatmaps
    else:
        assert sorted(heatmaps) == [f"reports/attention/{i:02d}.png" for i in range(1, 5)]
    mlflow.set_tracking_uri(tracking_uri)
    model = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model", dst_path=str(tmp_path / "logged"))
    texts = ["A man runs on the street.", "  A dog.  ", ""]
    table = model.predict(texts, params={"beam_size": 1})
    expected = Translator.from_bundle(tmp_path / "run" / "model").translate(texts, beam_size=1)  # as translate.py
    assert list(table["source"]) == ["A man runs on the street.", "A dog.", ""]
    assert list(table["translation"]) == [t.text for t in expected] and table["translation"][2] == ""
    with pytest.raises(SeqlabError, match=r"beam_size='abc' must be a whole number of at least 1"):
        Translator.from_bundle(tmp_path / "run" / "model").translate(texts, beam_size="abc")
    card = (tmp_path / "run" / "model" / "README.md").read_text()  # the model card of the net saved with it
    assert "Dataset: multi30k" in card and LICENSES["multi30k"] in card and "test/bleu: " in card


def test_overfit_translates_its_pairs_back_exactly(compose_cfg, multi30k_dir, tmp_path):
    """debug=overfit on 20 pairs: the tiny attention model must learn them by heart."""
    train(compose_cfg([
        "experiment=translate_attention", "debug=overfit", "logger=none", "trainer.max_epochs=80",
        "model.optimizer.lr=0.01", "model.net.dropout=0.0", "model.label_smoothing=0.0", "model.scheduler=null",
        "model.heatmap_sentences=0", *TINY[:4],
    ]))
    triples = caption_triples(200, seed=0)[:20]
    translator = Translator.from_bundle(tmp_path / "run" / "model")
    translations = translator.translate([en for en, _, _ in triples], beam_size=1)
    assert [t.text for t in translations] == [fr for _, fr, _ in triples]


def make(target: str, args: str, tracking_uri: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "OMP_NUM_THREADS": "1"}
    return subprocess.run(["make", "-s", target, f"PY={sys.executable}", f"ARGS={args}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_make_translate_from_a_run_and_from_a_checkpoint(compose_cfg, multi30k_dir, tracking_uri, tmp_path):
    train(compose_cfg(["experiment=translate_attention", "debug=smoke", "trainer.max_epochs=2", *TINY]))
    run_id = run_under(tracking_uri, tmp_path).info.run_id
    heatmaps = tmp_path / "heatmaps"
    result = make("translate", f'run_id={run_id} text="A man runs." beam_size=3 heatmaps={heatmaps}', tracking_uri)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(result.stdout.strip().splitlines()) == 1 and (heatmaps / "01.png").is_file()

    lines = tmp_path / "captions.txt"
    long_line = "A man runs on the street and " * 12 + "a dog sits."  # more than max_length=50 tokens
    lines.write_text(f"A dog sits.\n\nA child runs on the grass.\n{long_line}\n{long_line}\n", encoding="utf-8")
    checkpoint = sorted((tmp_path / "run" / "checkpoints").glob("epoch*.ckpt"))[0]
    result = make("translate", f"checkpoint={checkpoint} file={lines} beam_size=1", tracking_uri)
    assert result.returncode == 0, result.stderr[-3000:]
    outputs = result.stdout.split("\n")[:5]
    assert outputs[1] == "" and outputs[0] and outputs[2] and outputs[3] == outputs[4] != ""
    reports = [line for line in result.stderr.splitlines() if "max_length" in line]
    assert reports == ["2 of 4 input line(s) were longer than the model's max_length of 50 tokens: only their first "
                       "50 tokens were translated"]
    translator = Translator.from_checkpoint(checkpoint)
    assert [t.text for t in translator.translate(["A dog sits.", "A child runs on the grass."], beam_size=1)] == [
        outputs[0], outputs[2]]


def test_bad_parallel_files_fail_the_run_with_both_counts(compose_cfg, multi30k_dir, tracking_uri, tmp_path):
    (multi30k_dir / "val.fr").write_text("Un chien.\n", encoding="utf-8")
    with pytest.raises(SeqlabError, match=r"val.en has 30 lines and .*val.fr has 1"):
        train(compose_cfg(["experiment=translate_attention", "debug=smoke", *TINY]))
    assert run_under(tracking_uri, tmp_path).info.status == "FAILED"


@pytest.mark.parametrize("overrides, message", [
    (["dataset.tgt_lang=es"], r"unknown language code dataset.tgt_lang='es' for multi30k; languages: en, de, fr"),
    (["optimized_metric=val/acc"], r"optimized_metric=val/acc is not a translation metric; choices: val/bleu"),
    (["model.net.attention=copy"], r"model.net.attention='copy' is not a valid choice; choices: none, bahdanau, luong"),
    (["dataset.max_eval_samples=0"], r"dataset.max_eval_samples=0 must be at least 1 pair, or null for every pair"),
    (["model.val_max_sentences=0"], r"model.val_max_sentences=0 must be at least 1, or null"),
])
def test_bad_options_say_what_to_fix(overrides, message, compose_cfg, multi30k_dir):
    with pytest.raises(SeqlabError, match=message):
        train(compose_cfg(["experiment=translate_attention", "debug=smoke", "logger=none", *overrides]))



def write_parallel_files(folder, tsv: bool) -> None:
    """data/parallel_files: per split train/val/test.{src,tgt} (two aligned files) or <split>.tsv (a header, then
    a license column between target and source)."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, n, seed in (("train", 120, 0), ("val", 12, 1), ("test", 12, 2)):
        triples = caption_triples(n, seed)
        if tsv:
            rows = ["de\tlicense\ten"] + [f"{de}\tCC-BY\t{en}" for en, _, de in triples]
            (folder / f"{split}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        else:
            (folder / f"{split}.src").write_text("".join(en + "\n" for en, _, _ in triples), encoding="utf-8")
            (folder / f"{split}.tgt").write_text("".join(fr + "\n" for _, fr, _ in triples), encoding="utf-8")


@pytest.mark.parametrize("tsv", [False, True], ids=["aligned files", "tsv"])
def test_parallel_files_train_end_to_end(tsv, compose_cfg, tmp_path, tracking_uri):
    write_parallel_files(tmp_path / "data" / "parallel_files", tsv)
    files = ["dataset.train=train.tsv", "dataset.val=val.tsv", "dataset.test=test.tsv", "dataset.tsv_header=true",
             "dataset.tsv_columns=[2,0]", "dataset.src_lang=en", "dataset.tgt_lang=de"] if tsv else []
    value = train(compose_cfg(["experiment=translate_seq2seq", "dataset=parallel_files", "debug=smoke",
                               "trainer.max_epochs=2", *TINY, *files]))
    run = run_under(tracking_uri, tmp_path)
    assert run.info.status == "FINISHED" and METRICS <= set(run.data.metrics)
    assert_returns_the_best_val_bleu(value, tracking_uri, run)
    assert_tested_with_the_kept_checkpoint(run, tmp_path / "run")
    names = ["train.tsv", "val.tsv", "test.tsv"] if tsv else [f"{s}.{side}" for s in ("train", "val", "test")
                                                               for side in ("src", "tgt")]
    assert {f"data.sha256.{name}" for name in names} <= set(run.data.params)
    translator = Translator.from_bundle(tmp_path / "run" / "model")
    vocabulary = translator.tgt_tokenizer.get_vocab()
    target_words = {"Hund", "Mann"} if tsv else {"chien", "homme"}  # learnt from the target side only
    assert all(any(word in token for token in vocabulary) for word in target_words)
    assert not any("dog" in token for token in vocabulary)


def test_the_translation_benchmark_pins_the_cpu_and_two_threads(tmp_path, monkeypatch):
    from seqlab.benchmarks import translation

    seen = []

    def fake_train(root, name, overrides, minutes, histories):
        seen.append((overrides, torch.get_num_threads(), minutes))
        return {"value": 1.0, "wall_seconds": 1.0, "overrides": overrides, "metrics": {"test/bleu": 1.0}}

    monkeypatch.setattr(translation, "train_preset", fake_train)
    monkeypatch.setattr(translation, "run_case", lambda root, case: {"case": case.name})  # the floor, side by side
    torch.set_num_threads(1)  # this test module's own setting (one_torch_thread)
    report = json.loads(translation.run(tmp_path, 45.0).read_text())
    assert torch.get_num_threads() == 1  # restored for what runs next
    assert len(seen) == 4 and all("trainer=cpu" in o and threads == 2 for o, threads, _ in seen)
    assert report["threads"] == 2
    # the targeted direction gets the whole budget, the reported-only one at most 20 minutes
    assert [m for o, _, m in seen if "dataset.src_lang=de" in o] == [45.0, 45.0]
    assert [m for o, _, m in seen if "dataset.src_lang=en" in o] == [20.0, 20.0]
    assert report["budget_minutes"] == {"de-en": 45.0, "en-fr": 20.0}


def test_the_benchmark_weighs_each_epochs_speed_by_its_seconds():
    from seqlab.benchmarks.translation import tokens_per_sec

    # two whole epochs at 2400 and 2600 tokens/s, then one batch before the time limit at 6000 tokens/s
    assert tokens_per_sec([170.0, 170.0, 0.2], [2400.0, 2600.0, 6000.0]) == pytest.approx(2502.1, abs=0.1)
    assert tokens_per_sec([], []) is None
