"""End-to-end NER runs through the same config and code path as `python pipelines/train.py experiment=ner_*`,
and `make ner` on the course's sentence and on a finished run."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import spacy
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from ner_commands import make_ner, marks, page_of, parse
from seqlab.commands.train import train
from seqlab.errors import SeqlabError

from logged_models import check_logged_model
from ner_data import write_wnut17_layout

COURSE = "Apple is looking at buying U.K. startup for $1 billion. Elon Musk lives in California."
COURSE_ENTITIES = [("Apple", "ORG", 0, 5), ("U.K.", "GPE", 27, 31), ("$1 billion", "MONEY", 44, 54),
                   ("Elon Musk", "PERSON", 56, 65), ("California", "GPE", 75, 85)]
LABELS = ["corporation", "location", "person"]
PRESETS = ["ner_spacy", "ner_spacy_finetune", "ner_pretrained_eval"]


def run_in(tracking_uri: str, run_dir) -> Run:
    client = MlflowClient(tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    [run] = client.search_runs(experiments, f"tags.run_dir = '{run_dir}'")
    return run


def val_history(tracking_uri: str, run: Run) -> list[tuple[int, float]]:
    history = MlflowClient(tracking_uri).get_metric_history(run.info.run_id, "val/ents_f")
    return [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)]


def assert_returns_the_best_val_ents_f_and_keeps_it(value: float, tracking_uri: str, run: Run) -> None:
    """The value returned is the best val/ents_f of the evaluations during training, and the pipeline kept scores
    it again on dev (the last point of the history, after training)."""
    *during, (_, kept) = val_history(tracking_uri, run)
    assert value == pytest.approx(max(v for _, v in during)) == pytest.approx(kept)


def entities_found(nlp, text: str) -> list[list]:
    return [[e.text, e.label_, e.start_char, e.end_char] for e in nlp(text).ents]


def kept_pipeline(run_dir):
    """The pipeline a run kept (spaCy's model-best), which it tests and logs."""
    return spacy.load(Path(run_dir) / "spacy" / "training" / "model-best")


def table_rows(tracking_uri: str, run: Run) -> dict[tuple[str, str], dict]:
    """reports/ents_per_type.csv of a run: {(split, label): row}."""
    with tempfile.TemporaryDirectory() as scratch:
        path = MlflowClient(tracking_uri).download_artifacts(run.info.run_id, "reports/ents_per_type.csv", scratch)
        with open(path, encoding="utf-8") as fh:
            return {(row["split"], row["label"]): row for row in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def finished_runs(tmp_path_factory, tracking_uri):
    """One debug=smoke run of each NER preset, on a tiny WNUT-17 in the real layout:
    {preset: (run, returned value, composed config)}, and the data folder under "data"."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    from conftest import CONF

    root = tmp_path_factory.mktemp("ner")
    runs = {"data": write_wnut17_layout(root / "data" / "wnut17")}
    for preset in PRESETS:
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            cfg = compose("train", overrides=[f"experiment={preset}", "debug=smoke"], return_hydra_config=True)
            HydraConfig.instance().set_config(cfg)
            with open_dict(cfg):
                cfg.paths.root_dir = str(root)
                cfg.paths.output_dir = str(root / "runs" / preset)
                cfg.logger.tracking_uri = tracking_uri
                del cfg["hydra"]
        value = train(cfg)
        runs[preset] = (run_in(tracking_uri, root / "runs" / preset), value, cfg)
    GlobalHydra.instance().clear()
    return runs


@pytest.mark.parametrize("preset", PRESETS)
def test_each_preset_lands_a_finished_run_with_overall_and_per_label_scores(preset, finished_runs, tracking_uri):
    run, value, cfg = finished_runs[preset]
    client = MlflowClient(tracking_uri)
    assert run.info.status == "FINISHED"
    assert run.data.params["optimized_metric"] == "val/ents_f"
    metrics = run.data.metrics
    for split in ("val", "test"):  # their values are the per-type table's: test_the_run_scores_are_those_of_...
        assert {f"{split}/{key}" for key in ("ents_p", "ents_r", "ents_f")} <= set(metrics)
        for label in LABELS:
            assert {f"{split}/ents_per_type/{label}/{k}" for k in "prf"} <= set(metrics)
    history = val_history(tracking_uri, run)
    assert value == pytest.approx(max(v for _, v in history)) == pytest.approx(metrics["objective"])
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    reports = {a.path for a in client.list_artifacts(run.info.run_id, "reports")}
    assert {"config.yaml", "data_stats.json", "reports"} <= artifacts
    assert {"reports/ents_per_type.csv", "reports/ents_per_type.md", "reports/test_predicted.html"} <= reports
    assert {("test", label) for label in LABELS} <= set(table_rows(tracking_uri, run))
    if preset == "ner_pretrained_eval":
        assert "label_map.json" in artifacts
        return
    # debug=smoke bounds spaCy's loop: an evaluation every eval_frequency updates up to max_steps, then the
    # scores of the pipeline kept
    last, every = cfg.model.max_steps, cfg.model.eval_frequency
    assert [s for s, _ in history] == [*range(0, last + 1, every), last + 1]
    assert {"config.cfg", "pipeline"} <= artifacts
    with tempfile.TemporaryDirectory() as scratch:
        spacy_config = Path(client.download_artifacts(run.info.run_id, "config.cfg", scratch)).read_text("utf-8")
    assert f"max_steps = {last}" in spacy_config and f"eval_frequency = {every}" in spacy_config
    assert_logged_recognizer_finds_what_the_pipeline_finds(tracking_uri, run, kept_pipeline(cfg.paths.output_dir))


def assert_logged_recognizer_finds_what_the_pipeline_finds(tracking_uri: str, run: Run, nlp) -> None:
    """The run's pyfunc model answers one row per entity (the text's index, text, label, start, end): the
    entities of the spaCy pipeline the run kept; a text without entities has no row."""
    texts = ["I met Alice Smith in New York yesterday .", "lol", "Bob Jones works for Tesla now !"]
    answer = check_logged_model(tracking_uri, run.info.run_id, texts, {"spacy"})
    expected = [[index, *entity] for index, text in enumerate(texts) for entity in entities_found(nlp, text)]
    assert answer.values.tolist() == expected and expected
    assert nlp.pipe_names[-1] == "ner" and set(LABELS) <= set(nlp.get_pipe("ner").labels)


@pytest.mark.parametrize("preset", PRESETS)
def test_the_run_scores_are_those_of_the_per_type_table(preset, finished_runs, tracking_uri):
    """The final val and test figures (overall and per type) are the scores of the pipeline the run keeps, the
    same as its table's rows; and the value returned to sweeps is its val/ents_f."""
    run, value, _ = finished_runs[preset]
    rows = table_rows(tracking_uri, run)
    metrics = run.data.metrics
    for split in ("val", "test"):
        overall = rows[(split, "ALL (micro)")]
        for key, column in (("ents_p", "precision"), ("ents_r", "recall"), ("ents_f", "f1")):
            assert metrics[f"{split}/{key}"] == pytest.approx(float(overall[column]), abs=1e-4), (split, key)
        for label in LABELS:
            for key, column in (("p", "precision"), ("r", "recall"), ("f", "f1")):
                assert metrics[f"{split}/ents_per_type/{label}/{key}"] == pytest.approx(
                    float(rows[(split, label)][column]), abs=1e-4), (split, label, key)
    assert value == pytest.approx(metrics["val/ents_f"])


@pytest.mark.parametrize("preset", PRESETS)
def test_each_run_logs_the_sha256_of_every_data_file(preset, finished_runs):
    run, _, _ = finished_runs[preset]
    files = sorted(finished_runs["data"].glob("*.conll"))
    assert {f"data.sha256.{p.name}": hashlib.sha256(p.read_bytes()).hexdigest() for p in files}.items() <= \
        run.data.params.items()


def test_training_on_the_scored_sentences_beats_the_pipeline_after_one_update(compose_cfg, tracking_uri, tmp_path):
    """Scored on the very sentences it trains on, the pipeline kept beats the one evaluated at step 0 (after its
    first update): training changes the weights the scores come from. train/loss is the mean loss of the updates
    since the evaluation before, so the last is below the first (spaCy's own figure adds up 10 updates here)."""
    folder = write_wnut17_layout(tmp_path / "mine", n_train=40, n_eval=8)
    value = train(compose_cfg(["model=spacy_ner", "dataset=ner_files", f"dataset.data_dir={folder}",
                               "dataset.val_file=train.conll", "dataset.test_file=test.conll", "debug=smoke"]))
    run = run_in(tracking_uri, tmp_path / "run")
    history = val_history(tracking_uri, run)
    assert history[0][0] == 0 and value > history[0][1]
    losses = sorted(MlflowClient(tracking_uri).get_metric_history(run.info.run_id, "train/loss"), key=lambda m: m.step)
    assert len(losses) >= 3 and losses[0].step == 0
    assert losses[-1].value < losses[0].value, [(m.step, m.value) for m in losses]  # a sum would be ~10x larger


def test_a_trained_pipeline_has_the_meta_that_spacy_package_needs(finished_runs, tmp_path):
    run, _, cfg = finished_runs["ner_spacy"]
    folder = Path(cfg.paths.output_dir) / "spacy" / "training" / "model-best"
    meta = json.loads((folder / "meta.json").read_text())
    assert (meta["name"], meta["version"]) == ("seqlab_wnut17_ner", "0.1.0")
    assert meta["license"] == "CC BY 4.0; cite Derczynski et al. 2017"
    assert meta["description"] == (f"Named entities ({', '.join(LABELS)}) learnt from wnut17 by seqlab's spaCy NER "
                                   f"(MLflow run {run.info.run_id})")
    result = subprocess.run([sys.executable, "-m", "spacy", "package", str(folder), str(tmp_path), "--build", "none"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    packaged = tmp_path / "en_seqlab_wnut17_ner-0.1.0"
    assert json.loads((packaged / "meta.json").read_text())["license"] == meta["license"]


def test_make_ner_without_run_finds_the_course_entities(tracking_uri, tmp_path):
    result = make_ner(f'text="{COURSE}"', tracking_uri, tmp_path)
    assert result.returncode == 0, result.stderr
    assert parse(result.stdout) == COURSE_ENTITIES
    assert marks(page_of(result.stdout)) == [(text, label) for text, label, _, _ in COURSE_ENTITIES]


def test_make_ner_with_a_run_shows_every_predicted_entity(finished_runs, tracking_uri, tmp_path):
    run, _, cfg = finished_runs["ner_spacy"]
    texts = '["I met Alice Smith in New York yesterday .","Bob Jones works for Tesla now !"]'
    result = make_ner(f"run_id={run.info.run_id} texts='{texts}'", tracking_uri, tmp_path)
    assert result.returncode == 0, result.stderr
    entities = parse(result.stdout)
    nlp = kept_pipeline(cfg.paths.output_dir)
    expected = [tuple(e) for text in json.loads(texts) for e in entities_found(nlp, text)]
    assert entities and entities == expected
    assert marks(page_of(result.stdout)) == [(text, label) for text, label, _, _ in entities]


def test_make_ner_with_an_unknown_run_says_so(tracking_uri, tmp_path):
    result = make_ner("run_id=0123456789abcdef text=hello", tracking_uri, tmp_path)
    assert result.returncode != 0
    assert "error: no MLflow run '0123456789abcdef'" in result.stderr


def test_time_limit_keeps_the_best_checkpoint(compose_cfg, tracking_uri, tmp_path, capsys):
    write_wnut17_layout(tmp_path / "data" / "wnut17", n_train=40, n_eval=8)
    cfg = compose_cfg(["experiment=ner_spacy", "debug=smoke", "model.max_steps=100000", "model.max_minutes=0.0005"])
    value = train(cfg)
    run = run_in(tracking_uri, tmp_path / "run")
    assert run.data.tags["stopped_by"] == "time limit (0.0005 minutes)"
    assert_returns_the_best_val_ents_f_and_keeps_it(value, tracking_uri, run)
    assert re.search(r"training stopped: 0.0005 minutes of training reached at step \d+", capsys.readouterr().err)
    assert (tmp_path / "run" / "spacy" / "training" / "model-best" / "config.cfg").is_file()
    assert "seqlab.time_limit.v1" in (tmp_path / "run" / "spacy" / "config.cfg").read_text()


def test_own_jsonl_files_train_and_test_on_a_carved_split(compose_cfg, tracking_uri, tmp_path):
    from ner_data import jsonl_records, tagged_sentences, write_jsonl

    folder = tmp_path / "mine"
    write_jsonl(folder / "train.jsonl", jsonl_records(tagged_sentences(60, 0)))
    write_jsonl(folder / "dev.jsonl", jsonl_records(tagged_sentences(8, 1)))
    cfg = compose_cfg(["model=spacy_ner", "dataset=ner_files", f"dataset.data_dir={folder}", "debug=smoke",
                       "dataset.train_file=train.jsonl", "dataset.val_file=dev.jsonl", "model.gold_tokens=false"])
    value = train(cfg)
    run = run_in(tracking_uri, tmp_path / "run")
    assert run.data.params["optimized_metric"] == "val/ents_f"  # from dataset=ner_files, no preset needed
    assert run.data.metrics["objective"] == pytest.approx(value)
    assert_returns_the_best_val_ents_f_and_keeps_it(value, tracking_uri, run)
    stats = (tmp_path / "run" / "data_stats.json").read_text()
    assert '"sentences": 54' in stats and '"sentences": 6' in stats  # 10% of train carved as test
    lines = (tmp_path / "run" / "reports" / "test_predictions.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 6
    # the test split was scored with the pipeline kept (its own tokens: gold_tokens=false), and test/ents_f is
    # the micro F of those predictions
    nlp = kept_pipeline(tmp_path / "run")
    assert [row["predicted"] for row in rows] == [entities_found(nlp, row["text"]) for row in rows]
    found = sum(len({tuple(e) for e in row["gold"]} & {tuple(e) for e in row["predicted"]}) for row in rows)
    precision = found / max(1, sum(len(row["predicted"]) for row in rows))
    recall = found / max(1, sum(len(row["gold"]) for row in rows))
    f1 = 2 * precision * recall / (precision + recall) if found else 0.0
    assert run.data.metrics["test/ents_f"] == pytest.approx(f1)


def test_a_killed_ner_run_is_refused_by_resume_and_stays_killed(compose_cfg, tracking_uri, tmp_path, monkeypatch):
    write_wnut17_layout(tmp_path / "data" / "wnut17", n_train=12, n_eval=4)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("seqlab.ner.runs.train_pipeline", interrupted)  # Ctrl-C during spaCy's loop
    with pytest.raises(KeyboardInterrupt):
        train(compose_cfg(["experiment=ner_spacy", "debug=smoke"]))
    monkeypatch.undo()
    run_id = run_in(tracking_uri, tmp_path / "run").info.run_id
    assert MlflowClient(tracking_uri).get_run(run_id).info.status == "KILLED"
    with pytest.raises(SeqlabError, match=rf"run '{run_id}' is a ner run, which cannot be resumed \(spaCy's"):
        train(compose_cfg(["experiment=ner_spacy", "debug=smoke", f"resume={run_id}"]))
    assert MlflowClient(tracking_uri).get_run(run_id).info.status == "KILLED"
