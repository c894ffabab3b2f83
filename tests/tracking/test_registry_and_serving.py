"""Models that leave the lab: a classifier and a translator logged as pyfunc models that carry their code and pinned
requirements, registered (register=<name> when training, `make register` after, a sweep's best trial), used through
models:/<name>@<alias> by `make predict`, served by `make serve` (a real `mlflow models serve` on 127.0.0.1), and the
mistakes a user can make on the way; one slow test loads the model in a fresh virtualenv built from its own
requirements."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf

from seqlab.commands.train import train
from seqlab.data.download import LICENSES
from seqlab.errors import SeqlabError
from seqlab.inference.text_classifier import TextClassifier
from seqlab.inference.translator import Translator

from conftest import (
    ROOT,
    compose_train,
    free_port,
    kept_checkpoint,
    wait_until_answering,
    write_multi30k_layout,
    write_sst2_layout,
)
from logged_models import check_logged_model

CLASSIFIER, TRANSLATOR = "sentiment-cnn", "en-fr"
TEXTS = ["a wonderful film", "the plot is dull and the cast quite awful"]
SOURCES = ["A man runs on the street.", "A dog sits."]
SEQLAB_NET_LIBRARIES = {"torch", "tokenizers", "safetensors", "huggingface_hub"}  # what a seqlab net's pyfunc pins
TRANSLATOR_TINY = ["model.net.embed_dim=24", "model.net.hidden_size=24", "model.net.decoder_hidden_size=32",
                   "model.net.attention_dim=16", "dataset.max_eval_samples=12"]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def train_in(root: Path, overrides: list[str], tracking_uri: str):
    """A run of `python pipelines/train.py <overrides>` with data and outputs under root: (MLflow run, run folder)."""
    train(compose_train(root, overrides, tracking_uri, root / "run"))
    client = MlflowClient(tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    [run] = client.search_runs(experiments, f"tags.run_dir = '{root / 'run'}'")
    return run, root / "run"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tracking_uri) -> dict:
    """A CNN classifier trained with register=sentiment-cnn and a translator with register=en-fr (smoke runs):
    {"classifier": (run, run folder), "translator": (run, run folder)}."""
    import torch

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("leave_lab")
    write_sst2_layout(root / "classifier" / "data" / "sst2")
    write_multi30k_layout(root / "translator" / "data" / "multi30k")
    return {
        "classifier": train_in(root / "classifier", ["model=cnn", "debug=smoke", "trainer.max_epochs=3",
                                                     f"register={CLASSIFIER}"], tracking_uri),
        "translator": train_in(root / "translator", ["experiment=translate_attention", "debug=smoke",
                                                     "trainer.max_epochs=2", *TRANSLATOR_TINY,
                                                     f"register={TRANSLATOR}"], tracking_uri),
    }


def make(target: str, tracking_uri: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri}
    return subprocess.run(["make", "-s", target, f"PY={sys.executable}", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_the_classifier_model_carries_its_code_and_answers_as_its_checkpoint(runs, tracking_uri):
    run, run_dir = runs["classifier"]
    answer = check_logged_model(tracking_uri, run.info.run_id, TEXTS, SEQLAB_NET_LIBRARIES)
    expected = TextClassifier.from_checkpoint(kept_checkpoint(run_dir)).predict(TEXTS)
    assert answer.to_dict("records") == expected
    # the net saved the Hugging Face way, its model card naming the data, its license and the run's test metrics
    card = (run_dir / "model" / "README.md").read_text()
    assert not (run_dir / "model" / "net.json").exists()
    assert "Dataset: sst2" in card and f"License of the data: {LICENSES['sst2']}" in card
    assert f"test/loss: {round(run.data.metrics['test/loss'], 4)}" in card


def test_the_translator_model_takes_its_decoding_options_as_params(runs, tracking_uri):
    run, run_dir = runs["translator"]
    translator = Translator.from_checkpoint(kept_checkpoint(run_dir))
    for beam_size in (1, 3):
        answer = check_logged_model(tracking_uri, run.info.run_id, SOURCES, SEQLAB_NET_LIBRARIES,
                                    {"beam_size": beam_size})
        assert list(answer["source"]) == SOURCES
        assert list(answer["translation"]) == [t.text for t in translator.translate(SOURCES, beam_size=beam_size)]
    params = {p.name: p.default for p in mlflow.models.get_model_info(
        f"runs:/{run.info.run_id}/model").signature.params.params}
    assert params == {"beam_size": translator.decoding["beam_size"],
                      "length_penalty": translator.decoding["length_penalty"]}


def test_register_alias_and_predict_through_the_registered_model(runs, tracking_uri):
    run, _ = runs["classifier"]
    client = MlflowClient(tracking_uri)
    [first] = client.search_model_versions(f"name = '{CLASSIFIER}'")  # register= when training
    assert first.run_id == run.info.run_id and int(first.version) == 1

    result = make("register", tracking_uri, f"RUN={run.info.run_id}", f"NAME={CLASSIFIER}", "ALIAS=champion")
    assert result.returncode == 0, result.stderr
    assert f"as {CLASSIFIER} version 2: models:/{CLASSIFIER}@champion" in result.stderr
    champion = client.get_model_version_by_alias(CLASSIFIER, "champion")
    assert int(champion.version) == 2 and champion.run_id == run.info.run_id

    by_run = make("predict", tracking_uri, f"ARGS=run_id={run.info.run_id} texts='{json.dumps(TEXTS)}'")
    by_alias = make("predict", tracking_uri, f"ARGS=model=models:/{CLASSIFIER}@champion texts='{json.dumps(TEXTS)}'")
    by_version = make("predict", tracking_uri, f"ARGS=model=models:/{CLASSIFIER}/1 texts='{json.dumps(TEXTS)}'")
    for result in (by_run, by_alias, by_version):
        assert result.returncode == 0, result.stderr
    assert [line.split("\t")[2] for line in by_alias.stdout.splitlines()] == TEXTS
    assert by_alias.stdout == by_run.stdout == by_version.stdout


@pytest.mark.parametrize("uri, message", [
    ("models:/no-such-model@champion", r"no registered model 'no-such-model' in sqlite:.* \(registered: .*"
                                       rf"{CLASSIFIER}.*\); register a run's model with `make register RUN="),
    (f"models:/{CLASSIFIER}@staging", rf"registered model '{CLASSIFIER}' has no alias 'staging' \(its aliases: "),
    (f"models:/{CLASSIFIER}/42", rf"registered model '{CLASSIFIER}' has no version 42 \(its versions: 1"),
    (CLASSIFIER, r"is not a registered model's URI; give models:/<name>@<alias> or models:/<name>/<version>"),
    (f"models:/{CLASSIFIER}", r"names no alias or version number"),
])
def test_a_bad_models_uri_says_what_the_registry_holds(runs, tracking_uri, uri, message):
    from seqlab.tracking.registry import run_of_model

    with pytest.raises(SeqlabError, match=message):
        run_of_model(tracking_uri, uri)


def test_bad_uris_and_runs_without_a_model_end_commands_with_one_line(runs, tracking_uri):
    result = make("predict", tracking_uri, f"ARGS=model=models:/{CLASSIFIER}@nope text=hello")
    assert result.returncode != 0
    assert result.stderr.startswith(f"error: models:/{CLASSIFIER}@nope: registered model '{CLASSIFIER}' has no "
                                    "alias 'nope'")
    client = MlflowClient(tracking_uri)
    bare = client.create_run(client.create_experiment("no-model-to-register")).info.run_id
    result = make("register", tracking_uri, f"RUN={bare}", "NAME=anything")
    assert result.returncode != 0
    assert f"error: run '{bare}' (RUNNING) logged no MLflow model to register" in result.stderr
    result = make("serve", tracking_uri, "MODEL=models:/no-such-model@champion", f"PORT={free_port()}")
    assert result.returncode != 0 and "error: models:/no-such-model@champion: no registered model" in result.stderr


def test_register_needs_the_mlflow_logger(compose_cfg, sst2_dir):
    with pytest.raises(SeqlabError, match=r"register=x registers the run's model in MLflow's model registry: train "
                                          r"with logger=mlflow"):
        train(compose_cfg(["model=cnn", "debug=smoke", "logger=csv", "register=x"]))


def test_a_sweep_registers_its_best_trial(tracking_uri, tmp_path, monkeypatch):
    """The parent run's best trial (by objective) is registered once the sweep ends; the trials register nothing."""
    from seqlab.tracking.mlflow_tracker import MlflowTracker
    from seqlab.tracking.sweep import SWEEP_ID_ENV, SweepRunCallback

    class Constant(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input

    client = MlflowClient(tracking_uri)
    experiment = client.create_experiment("sweep-registers-best", artifact_location=(tmp_path / "artifacts").as_uri())
    trials = {}
    for objective in (0.6, 0.8, 0.7):
        run_id = client.create_run(experiment, tags={"sweep_id": "reg-sweep"}).info.run_id
        client.log_metric(run_id, "objective", objective)
        mlflow.set_tracking_uri(tracking_uri)
        with mlflow.start_run(run_id=run_id):
            mlflow.pyfunc.log_model(name="model", python_model=Constant(), pip_requirements=["pandas"])
        client.set_terminated(run_id, "FINISHED")
        trials[objective] = run_id
    monkeypatch.setenv(SWEEP_ID_ENV, "reg-sweep")
    callback = SweepRunCallback()
    callback.tracker = MlflowTracker(tracking_uri)
    callback.tracker.start("sweep-registers-best", "sweep", {}, {"sweep_id": "reg-sweep", "sweep": "parent"},
                           str(tmp_path))
    callback.on_multirun_end(OmegaConf.create({"optimized_mode": "max", "register": "best-of-sweep"}))
    [version] = client.search_model_versions("name = 'best-of-sweep'")
    assert version.run_id == trials[0.8]


def wait_until_serving(url: str, process: subprocess.Popen, seconds: int = 900) -> None:
    """Until the server answers /ping (it imports torch and loads the model: minutes on a busy machine)."""
    wait_until_answering(f"{url}/ping", process, seconds, "make serve", lambda: os.killpg(process.pid, signal.SIGKILL))


def post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(f"{url}/invocations", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


class Served:
    """`make serve MODEL=<uri> PORT=<free port>` started with a PATH that lacks the venv's bin folder (where
    uvicorn is), stopped (its process group) at the end."""

    def __init__(self, uri: str, tracking_uri: str):
        self.port = free_port()
        venv_bin = Path(sys.executable).parent
        path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if Path(p) != venv_bin)
        env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "PATH": path}
        self.process = subprocess.Popen(["make", "-s", "serve", f"PY={sys.executable}", f"MODEL={uri}",
                                         f"PORT={self.port}"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        wait_until_serving(self.url, self.process)
        return self

    def __exit__(self, *exc):
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def test_make_serve_answers_each_request_format_and_refuses_bad_input(runs, tracking_uri):
    run, run_dir = runs["classifier"]
    expected = TextClassifier.from_checkpoint(kept_checkpoint(run_dir)).predict(TEXTS)
    MlflowClient(tracking_uri).set_registered_model_alias(CLASSIFIER, "served", "1")
    with Served(f"models:/{CLASSIFIER}@served", tracking_uri) as server:
        for body in ({"inputs": TEXTS},
                     {"dataframe_split": {"columns": ["text"], "data": [[t] for t in TEXTS]}},
                     {"dataframe_records": [{"text": t} for t in TEXTS]}):
            status, answer = post(server.url, body)
            assert (status, answer) == (200, {"predictions": expected}), body
        status, answer = post(server.url, {"dataframe_records": [{"review": t} for t in TEXTS]})
        assert status == 400 and answer["error_code"] == "INVALID_PARAMETER_VALUE"
        assert "expected the texts in a column named 'text'" in answer["message"]
        status, answer = post(server.url, {"dataframe_split": {"columns": ["text"], "data": [[1.5], [2.0]]}})
        assert status == 400 and "every input must be a string" in answer["message"]


def test_make_serve_a_translator_with_params(runs, tracking_uri):
    run, run_dir = runs["translator"]
    expected = [t.text for t in Translator.from_checkpoint(kept_checkpoint(run_dir)).translate(SOURCES, beam_size=1)]
    with Served(f"models:/{TRANSLATOR}/1", tracking_uri) as server:
        status, answer = post(server.url, {"inputs": SOURCES, "params": {"beam_size": 1}})
    assert status == 200
    assert answer == {"predictions": [{"source": s, "translation": t} for s, t in zip(SOURCES, expected, strict=True)]}


def test_make_serve_on_a_port_in_use_says_so(runs, tracking_uri):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = make("serve", tracking_uri, f"MODEL=models:/{CLASSIFIER}/1", f"PORT={port}")
    assert result.returncode != 0
    assert f"error: cannot serve on 127.0.0.1:{port}: Address already in use" in result.stderr
    assert "Traceback" not in result.stderr
