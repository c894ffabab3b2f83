"""What tracking turns a config and a command line into."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf

from seqlab.errors import SeqlabError
from seqlab.tracking.model_loading import load_run_model, load_run_predictor
from seqlab.tracking.params import MAX_VALUE, flatten_config
from seqlab.tracking.run_info import experiment_name, run_name


def test_params_are_dotted_leaves_with_values_cut_to_the_store_limit():
    cfg = OmegaConf.create({"model": {"net": {"hidden": 8, "widths": [3, 4]}}, "note": "x" * 400, "empty": {}})
    flat = flatten_config(cfg)
    assert flat["model.net.hidden"] == "8"
    assert flat["model.net.widths"] == "[3, 4]"
    assert len(flat["note"]) == MAX_VALUE and flat["note"].endswith("...")
    assert flat["empty"] == "{}"


def test_params_resolve_interpolations():
    cfg = OmegaConf.create({"a": 2, "b": "${a}"})
    assert flatten_config(cfg)["b"] == "2"


def test_names():
    assert experiment_name("sst2", "classification") == "sst2-classification"
    name = run_name("cnn", ["model=cnn", "trainer.max_epochs=5", "paths.root_dir=/x"])
    assert name == "cnn model=cnn trainer.max_epochs=5"


def test_a_file_the_server_does_not_take_waits_and_training_goes_on(tmp_path, monkeypatch, capsys):
    """log_file (e.g. each epoch's samples) goes through the outbox: a failed upload neither raises nor is lost."""
    from seqlab.tracking.mlflow_tracker import MlflowTracker
    from seqlab.tracking.outbox import HTTP_DEFAULTS

    for name, value in HTTP_DEFAULTS.items():  # the outbox sets these for a remote store: undone after the test
        monkeypatch.setenv(name, value)
    tracker = MlflowTracker("http://127.0.0.1:9")  # a remote store: calls go through the outbox
    tracker.run_id, tracker.run_dir = "0123456789abcdef", str(tmp_path)
    logger = tracker.lightning_logger()
    uploads, server = [], {"up": False}

    class Experiment:
        def log_artifact(self, run_id, path, artifact_path=None):
            if not server["up"]:
                raise ConnectionError("server gone")
            uploads.append((run_id, path, artifact_path))

    monkeypatch.setattr(type(logger), "experiment", property(lambda self: Experiment()))
    samples = tmp_path / "samples_epoch1.txt"
    samples.write_text("to be or not\n")
    logger.log_file(samples, "samples")  # must not raise
    assert uploads == [] and len(tracker.outbox.queue) == 1
    tracker.outbox.report(tracker.run_dir)
    assert f"artifact {samples}" in capsys.readouterr().err

    server["up"] = True
    tracker.outbox.retry(force=True)  # as end() does: the file is sent once the server answers
    assert uploads == [(tracker.run_id, str(samples), "samples")] and tracker.outbox.queue == []


def test_what_is_logged_while_the_server_is_away_is_sent_in_order_when_it_answers(capsys):
    """Tags, artifacts and the status logged within the quiet time after a failure wait in the queue, not dropped."""
    from seqlab.tracking.outbox import Outbox

    outbox, sent, server = Outbox("http://127.0.0.1:9", remote=False), [], {"up": False}
    outbox.remote = True  # as for a server, without touching the HTTP settings of this process

    def call(what):
        def send():
            if not server["up"]:
                raise ConnectionError("server gone")
            sent.append(what)
        return send

    outbox.send_metrics(lambda metrics, step: call("metrics")(), {"val/acc": 0.5}, 3)  # fails: the quiet time starts
    for what in ("tags", "artifact checkpoints", "status FINISHED"):
        outbox.send(what, call(what))  # within the quiet time: queued, not tried
    assert sent == [] and [what for what, _, _ in outbox.queue] == [
        "metric batch", "tags", "artifact checkpoints", "status FINISHED"]
    outbox.report(None)
    err = capsys.readouterr().err
    assert "1 metric batch(es), steps [3]" in err and "  artifact checkpoints" in err and "  status FINISHED" in err
    server["up"] = True
    outbox.retry(force=True)
    assert sent == ["metrics", "tags", "artifact checkpoints", "status FINISHED"] and outbox.queue == []


def test_a_local_store_that_refuses_a_write_still_ends_the_run(tracking_uri, tmp_path, monkeypatch):
    """On SQLite a failed write is a real error (it ends the training), and the run is still marked FAILED: the
    refused batch is not tried again at the end, where it would fail again before the status is set."""
    from mlflow.exceptions import MlflowException

    from seqlab.tracking.mlflow_tracker import MlflowTracker

    refused = []

    class RefusingMetrics(MlflowClient):
        def log_batch(self, run_id, metrics=(), **kwargs):
            if metrics:
                refused.append(metrics)
                raise MlflowException("database is locked")
            return super().log_batch(run_id, metrics=metrics, **kwargs)

    tracker = MlflowTracker(tracking_uri)
    tracker.start("refused-write", "run", {}, {}, str(tmp_path))
    monkeypatch.setattr(tracker, "_client", lambda: RefusingMetrics(tracking_uri))
    with pytest.raises(MlflowException, match="database is locked"):
        tracker.log_metrics({"val/acc": 0.5}, step=1)
    tracker.end("FAILED")
    assert MlflowClient(tracking_uri).get_run(tracker.run_id).info.status == "FAILED"
    assert len(refused) == 1  # not tried again at the end


def test_a_run_without_a_logged_model_is_named_with_its_status(tracking_uri):
    client = MlflowClient(tracking_uri)
    run = client.create_run(client.create_experiment("no-model-here"))
    client.set_terminated(run.info.run_id, "FAILED")
    with pytest.raises(SeqlabError, match=rf"run '{run.info.run_id}' \(FAILED\) has no logged model; only a finished"):
        load_run_model(tracking_uri, run.info.run_id)
    with pytest.raises(SeqlabError, match=r"\(FAILED\) has no logged model; only a finished training run"):
        load_run_predictor(tracking_uri, run.info.run_id, "recognizer", "entity recognizer")
    with pytest.raises(SeqlabError, match=r"no MLflow run 'feedc0de' in sqlite:"):
        load_run_model(tracking_uri, "feedc0de")


def test_every_model_kind_has_its_logger_and_an_unknown_kind_is_refused_before_anything_is_sent(tmp_path):
    from seqlab.tasks.outputs import ModelKind
    from seqlab.tracking.mlflow_tracker import MODEL_LOGGERS, MlflowTracker

    assert set(MODEL_LOGGERS) == set(ModelKind)
    tracker = MlflowTracker(f"sqlite:///{tmp_path / 'mlflow.db'}")
    with pytest.raises(ValueError, match="'classifier' is not a valid ModelKind"):
        tracker.log_model(tmp_path, "classifier")
    assert not (tmp_path / "mlflow.db").exists()


def test_logger_csv_keeps_what_is_logged_outside_lightning(tmp_path):
    """A spaCy run logs only through its tracker: with logger=csv its scores, params and tags land in files too."""
    import csv
    import json

    from seqlab.tracking.tracker import CsvTracker

    tracker = CsvTracker()
    tracker.start("wnut17-ner", "spacy_ner", {"model.width": "96"}, {"task": "ner"}, str(tmp_path))
    tracker.log_metrics({"val/ents_f": 0.25, "val/ents_p": 0.5}, step=200)
    tracker.log_metrics({"objective": 0.25})
    tracker.log_params({"data.sha256.train.conll": "ab12"})
    tracker.set_tags({"stopped_by": "time limit"})
    tracker.end("FINISHED")
    with open(tmp_path / "csv" / "run_metrics.csv", encoding="utf-8") as fh:
        rows = [(int(r["step"]), r["key"], float(r["value"])) for r in csv.DictReader(fh)]
    assert rows == [(200, "val/ents_f", 0.25), (200, "val/ents_p", 0.5), (0, "objective", 0.25)]
    meta = json.loads((tmp_path / "csv" / "run.json").read_text())
    assert meta["params"] == {"model.width": "96", "data.sha256.train.conll": "ab12"}
    assert meta["tags"] == {"task": "ner", "stopped_by": "time limit"}
    assert (tmp_path / "csv" / "status").read_text() == "FINISHED\n"


def test_experiments_open_on_training_runs_and_runs_show_their_command(tracking_uri, tmp_path, monkeypatch):
    """The MLflow UI opens an experiment of kind custom_model_development on its runs (else on GenAI traces), and
    its Source column shows mlflow.source.name; an experiment made before seqlab set the kind gets it too."""
    from seqlab.tracking.mlflow_tracker import MlflowTracker
    from seqlab.tracking.run_info import source_tags

    monkeypatch.setattr("sys.argv", ["train.py", "experiment=sentiment_cnn", "seed=3"])
    client = MlflowClient(tracking_uri)
    older = client.create_experiment("made-before-the-kind")
    for experiment in ("a-new-experiment", "made-before-the-kind"):
        tracker = MlflowTracker(tracking_uri)
        tracker.start(experiment, "run", {}, source_tags(), str(tmp_path / experiment))
        tracker.end("FINISHED")
        found = client.get_experiment_by_name(experiment)
        assert found.tags["mlflow.experimentKind"] == "custom_model_development"
        tags = client.get_run(tracker.run_id).data.tags
        assert tags["mlflow.source.name"] == "train.py experiment=sentiment_cnn seed=3"
        assert tags["mlflow.source.type"] == "LOCAL"
    assert client.get_experiment_by_name("made-before-the-kind").experiment_id == older


def test_loading_a_run_model_prints_no_download_bar(tracking_uri, monkeypatch):
    """Commands print their own output: MLflow's artifact bar is off while a model loads, and back as it was."""
    import os

    seen = []
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "true")
    monkeypatch.setattr("mlflow.pyfunc.load_model",
                        lambda uri, dst_path: seen.append(os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"]))
    client = MlflowClient(tracking_uri)
    run = client.create_run(client.create_experiment("bar-check"))
    load_run_model(tracking_uri, run.info.run_id)
    assert seen == ["false"] and os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] == "true"


def test_the_splits_a_run_read_are_its_mlflow_dataset_inputs(tracking_uri, tmp_path):
    """The runs table's Dataset column: each split with its name, digest, files and rows; a changed file or another
    carve-out of the same file is another digest."""
    import json

    from seqlab.tracking.datasets import DataSplit
    from seqlab.tracking.mlflow_tracker import MlflowTracker

    train = tmp_path / "train.tsv"
    train.write_text("sentence\tlabel\ngood\t1\nbad\t0\nfine\t1\n")
    splits = [DataSplit("toy", "train", (str(train),), 2), DataSplit("toy", "test", (str(train),), 1)]
    tracker = MlflowTracker(tracking_uri)
    tracker.start("dataset-inputs", "run", {}, {}, str(tmp_path / "run"))
    tracker.log_datasets(splits)
    tracker.end("FINISHED")
    inputs = MlflowClient(tracking_uri).get_run(tracker.run_id).inputs.dataset_inputs
    found = {i.dataset.name: i for i in inputs}
    assert set(found) == {"toy-train", "toy-test"}
    assert {i.tags[0].key: i.tags[0].value for i in [found["toy-test"]]} == {"mlflow.data.context": "test"}
    assert json.loads(found["toy-train"].dataset.profile) == {"num_rows": 2}
    assert json.loads(found["toy-train"].dataset.source) == {"uris": [str(train)]}
    assert found["toy-train"].dataset.digest != found["toy-test"].dataset.digest  # same file, another carve-out
    before = found["toy-train"].dataset.digest
    train.write_text("sentence\tlabel\ngood\t0\nbad\t0\nfine\t1\n")
    from seqlab.tracking.datasets import dataset_inputs

    assert dataset_inputs(splits[:1])[0].dataset.digest != before  # one label changed
