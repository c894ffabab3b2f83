"""Load what a finished MLflow run logged: its pyfunc model, what that model answers with, or the folder of
its from_pretrained model."""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from seqlab.errors import SeqlabError
from seqlab.tracking.pyfunc_model import MODEL_NAME
from seqlab.tracking.run_lookup import get_run

# MLflow is imported where used: the commands import this module at start-up

LOCAL_STORE = "sqlite:///outputs/mlflow.db"  # conf/logger/mlflow.yaml's default
PROGRESS_ENV = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"


@contextmanager
def no_progress_bar() -> Iterator[None]:
    """MLflow's artifact-download bar kept off the terminal a command prints its own output to."""
    before = os.environ.get(PROGRESS_ENV)
    os.environ[PROGRESS_ENV] = "false"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(PROGRESS_ENV, None)
        else:
            os.environ[PROGRESS_ENV] = before


@functools.cache
def _downloads() -> tempfile.TemporaryDirectory:
    """Where this process downloads runs' models: removed when it exits (MLflow's own default, a new temporary
    folder for each download, is never removed, and a model may weigh hundreds of MB)."""
    return tempfile.TemporaryDirectory(prefix="seqlab-models-")


def download_folder() -> str:
    """A new empty folder for one download, removed with the others when the process exits."""
    return tempfile.mkdtemp(dir=_downloads().name)


def load_run_model(tracking_uri: str, run_id: str):
    """The MLflow pyfunc model the run logged (runs:/<run_id>/model)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    run = get_run(tracking_uri, run_id)
    mlflow.set_tracking_uri(tracking_uri)
    folder = download_folder()
    try:
        with no_progress_bar():
            return mlflow.pyfunc.load_model(f"runs:/{run_id}/{MODEL_NAME}", dst_path=folder)
    except (MlflowException, OSError):
        raise SeqlabError(
            f"run '{run_id}' ({run.info.status}) has no logged model; only a finished training run has one"
        ) from None


def load_run_predictor(tracking_uri: str, run_id: str, attribute: str, what: str):
    """What the run's pyfunc model answers with, its `attribute` (classifier, translator, generator,
    recognizer); a run of another family is a SeqlabError: "run ... logged no <what>"."""
    found = getattr(load_run_model(tracking_uri, run_id).unwrap_python_model(), attribute, None)
    if found is None:
        raise SeqlabError(f"run '{run_id}' logged no {what}")
    return found


@functools.cache  # the tokenizer, config and weights of one run are read from one download
def run_model_folder(tracking_uri: str | None, run_id: str, option: str = "model.net.pretrained") -> Path:
    """The folder holding the config.json of the model run `run_id` logged (a save_pretrained folder),
    downloaded once; `tracking_uri` None: MLflow's own (MLFLOW_TRACKING_URI, else the local store seqlab
    writes)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    tracking_uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or LOCAL_STORE
    if not run_id:
        raise SeqlabError(f"{option}=mlflow: names no run; give mlflow:<run_id>")
    run = get_run(tracking_uri, run_id)
    mlflow.set_tracking_uri(tracking_uri)
    folder = download_folder()
    try:
        with no_progress_bar():
            local = Path(mlflow.artifacts.download_artifacts(f"runs:/{run_id}/model", dst_path=folder))
    except (MlflowException, OSError):
        raise SeqlabError(f"{option}=mlflow:{run_id}: run ({run.info.status}) has no logged model; "
                          f"give a finished training run's id") from None
    from seqlab.inference.net_builder import saved_architecture  # torch: only where a run's model is read

    configs = sorted(local.rglob("config.json"), key=lambda p: len(p.parts))
    if not configs:
        raise SeqlabError(f"{option}=mlflow:{run_id}: the run's model is not a from_pretrained model (no "
                          f"config.json); give a run that fine-tuned or pretrained a Transformer")
    architecture = saved_architecture(configs[0].parent)
    if architecture is not None:
        raise SeqlabError(f"{option}=mlflow:{run_id}: the run's model is seqlab's {architecture}, not a "
                          f"transformers model; give a run that fine-tuned or pretrained a Transformer")
    return configs[0].parent
