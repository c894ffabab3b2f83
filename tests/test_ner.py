"""End-to-end NER runs through the same config and code path as `python pipelines/train.py experiment=ner_*`,
and `make ner` on the course's sentence and on a finished run."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys

import mlflow
import pytest
from conftest import ROOT
from mlflow.tracking import MlflowClient
from ner_data import write_wnut17_layout

from seqlab.train import train

COURSE = "Apple is looking at buying U.K. startup for $1 billion. Elon Musk lives in California."
COURSE_ENTITIES = [("Apple", "ORG", 0, 5), ("U.K.", "GPE", 27, 31), ("$1 billion", "MONEY", 44, 54),
                   ("Elon Musk", "PERSON", 56, 65), ("California", "GPE", 75, 85)]
LABELS = ["corporation", "location", "person"]
SMOKE = {  # a few dozen spaCy updates, evaluated every 15
    "ner_spacy": ["model.max_steps=45", "model.eval_frequency=15", "model.batch_size=200", "model.width=32",
                  "model.depth=2", "model.embed_rows=[500,100,100,100]", "model.dropout=0.1",
                  "model.learn_rate=0.005"],
    "ner_spacy_finetune": ["model.max_steps=30", "model.eval_frequency=15", "model.batch_size=200",
                           "model.learn_rate=0.002", "model.dropout=0.1"],
    "ner_pretrained_eval": [],
}
MARK = re.compile(r'<mark class="entity"[^>]*>\s*(.*?)\s*<span[^>]*>(.*?)</span>\s*</mark>', re.S)


def marks(page: str) -> list[tuple[str, str]]:
    return [(html.unescape(text), html.unescape(label)) for text, label in MARK.findall(page)]


@pytest.fixture(scope="module")
def finished_runs(tmp_path_factory, tracking_uri):
    """One smoke run of each NER preset, on a tiny WNUT-17 in the real layout: {preset: (run, returned value)}."""
    from conftest import CONF
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    root = tmp_path_factory.mktemp("ner")
    write_wnut17_layout(root / "data" / "wnut17")
    client = MlflowClient(tracking_uri)
    runs = {}
    for preset, overrides in SMOKE.items():
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            cfg = compose("train", overrides=[f"experiment={preset}", *overrides], return_hydra_config=True)
            HydraConfig.instance().set_config(cfg)
            with open_dict(cfg):
                cfg.paths.root_dir = str(root)
                cfg.paths.output_dir = str(root / "runs" / preset)
                cfg.logger.tracking_uri = tracking_uri
                del cfg["hydra"]
        value = train(cfg)
        [run] = client.search_runs(
            [client.get_experiment_by_name("wnut17-ner").experiment_id],
            f"tags.run_dir = '{root / 'runs' / preset}'",
        )
        runs[preset] = (run, value)
    GlobalHydra.instance().clear()
    return runs


@pytest.mark.parametrize("preset", list(SMOKE))
def test_each_preset_lands_a_finished_run_with_overall_and_per_label_scores(preset, finished_runs, tracking_uri):
    run, value = finished_runs[preset]
    client = MlflowClient(tracking_uri)
    assert run.info.status == "FINISHED"
    metrics = run.data.metrics
    for split in ("val", "test"):
        for key in ("ents_p", "ents_r", "ents_f"):
            assert 0.0 <= metrics[f"{split}/{key}"] <= 1.0
        for label in LABELS:
            assert {f"{split}/ents_per_type/{label}/{k}" for k in "prf"} <= set(metrics)
    history = [m.value for m in client.get_metric_history(run.info.run_id, "val/ents_f")]
    assert value == pytest.approx(max(history)) == pytest.approx(metrics["objective"])
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    reports = {a.path for a in client.list_artifacts(run.info.run_id, "reports")}
    assert {"config.yaml", "data_stats.json", "reports"} <= artifacts
    assert {"reports/ents_per_type.csv", "reports/ents_per_type.md", "reports/test_predicted.html"} <= reports
    table = client.download_artifacts(run.info.run_id, "reports/ents_per_type.csv")
    rows = open(table, encoding="utf-8").read().splitlines()
    assert rows[0] == "split,label,precision,recall,f1,gold,predicted"
    assert {f"test,{label}" for label in LABELS} <= {",".join(r.split(",")[:2]) for r in rows}
    if preset == "ner_pretrained_eval":
        assert "label_map.json" in artifacts
        return
    assert len(history) == 4 if preset == "ner_spacy" else len(history) == 3  # steps 0, 15, 30(, 45)
    assert {"config.cfg", "pipeline"} <= artifacts
    spacy_config = open(client.download_artifacts(run.info.run_id, "config.cfg"), encoding="utf-8").read()
    assert "max_steps = " + SMOKE[preset][0].split("=")[1] in spacy_config
    mlflow.set_tracking_uri(tracking_uri)
    nlp = mlflow.spacy.load_model(f"runs:/{run.info.run_id}/model")
    assert nlp.pipe_names[-1] == "ner" and set(LABELS) <= set(nlp.get_pipe("ner").labels)


def test_blank_training_learns_the_tiny_data(finished_runs):
    run, value = finished_runs["ner_spacy"]
    assert value >= 0.5 and run.data.metrics["test/ents_f"] >= 0.5


def test_fine_tuning_learns_the_new_labels(finished_runs):
    run, value = finished_runs["ner_spacy_finetune"]
    assert value >= 0.5 and run.data.metrics["test/ents_per_type/person/f"] > 0


def make_ner(args: str, tracking_uri: str, tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri}
    return subprocess.run(
        ["make", "-s", "ner", f"PY={sys.executable}", f"ARGS={args} report_dir={tmp_path}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )


def parse(stdout: str) -> list[tuple[str, str, int, int]]:
    rows = [line.split("\t") for line in stdout.splitlines() if line.count("\t") == 3]
    return [(text, label, int(start), int(end)) for text, label, start, end in rows]


def page_of(stdout: str) -> str:
    [path] = [line.split(": ", 1)[1] for line in stdout.splitlines() if line.startswith("displacy page: ")]
    return open(path, encoding="utf-8").read()


def test_make_ner_without_run_finds_the_course_entities(tracking_uri, tmp_path):
    result = make_ner(f'text="{COURSE}"', tracking_uri, tmp_path)
    assert result.returncode == 0, result.stderr
    assert parse(result.stdout) == COURSE_ENTITIES
    assert marks(page_of(result.stdout)) == [(text, label) for text, label, _, _ in COURSE_ENTITIES]


def test_make_ner_with_a_run_shows_every_predicted_entity(finished_runs, tracking_uri, tmp_path):
    run, _ = finished_runs["ner_spacy"]
    texts = '["I met Alice Smith in New York yesterday .","Bob Jones works for Tesla now !"]'
    result = make_ner(f"run_id={run.info.run_id} texts='{texts}'", tracking_uri, tmp_path)
    assert result.returncode == 0, result.stderr
    entities = parse(result.stdout)
    assert entities and {label for _, label, _, _ in entities} <= set(LABELS)
    assert marks(page_of(result.stdout)) == [(text, label) for text, label, _, _ in entities]


def test_make_ner_with_an_unknown_run_says_so(tracking_uri, tmp_path):
    result = make_ner("run_id=0123456789abcdef text=hello", tracking_uri, tmp_path)
    assert result.returncode != 0
    assert "error: no MLflow run '0123456789abcdef'" in result.stderr


TINY = ["model.width=32", "model.depth=2", "model.embed_rows=[500,100,100,100]", "model.batch_size=200",
        "model.eval_frequency=10", "logger=none"]


def test_time_limit_keeps_the_best_checkpoint(compose_cfg, tmp_path, capsys):
    write_wnut17_layout(tmp_path / "data" / "wnut17", n_train=40, n_eval=8)
    cfg = compose_cfg(["experiment=ner_spacy", *TINY, "model.max_steps=100000", "model.max_minutes=0.0005"])
    value = train(cfg)
    assert 0.0 <= value <= 1.0
    assert re.search(r"training stopped: 0.0005 minutes of training reached at step \d+", capsys.readouterr().err)
    assert (tmp_path / "run" / "spacy" / "training" / "model-best" / "config.cfg").is_file()
    assert "seqlab.time_limit.v1" in (tmp_path / "run" / "spacy" / "config.cfg").read_text()


def test_own_jsonl_files_train_and_test_on_a_carved_split(compose_cfg, tmp_path):
    from ner_data import jsonl_records, tagged_sentences, write_jsonl

    folder = tmp_path / "mine"
    write_jsonl(folder / "train.jsonl", jsonl_records(tagged_sentences(60, 0)))
    write_jsonl(folder / "dev.jsonl", jsonl_records(tagged_sentences(8, 1)))
    cfg = compose_cfg(["model=spacy_ner", "dataset=ner_files", f"dataset.data_dir={folder}", *TINY,
                       "dataset.train_file=train.jsonl", "dataset.val_file=dev.jsonl", "model.gold_tokens=false",
                       "model.max_steps=40", "optimized_metric=val/ents_f"])
    assert train(cfg) > 0.3
    stats = (tmp_path / "run" / "data_stats.json").read_text()
    assert '"sentences": 54' in stats and '"sentences": 6' in stats  # 10% of train carved as test
    rows = (tmp_path / "run" / "reports" / "test_predictions.jsonl").read_text().splitlines()
    assert len(rows) == 6
