"""Load what a finished MLflow run logged: its pyfunc model, a NER run's spaCy pipeline, or the folder of its
from_pretrained model."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from seqlab.errors import SeqlabError
from seqlab.tracking.run_artifacts import no_progress_bar

LOCAL_STORE = "sqlite:///outputs/mlflow.db"  # conf/logger/mlflow.yaml's default


def load_run_model(tracking_uri: str, run_id: str):
    import mlflow

    return _load(tracking_uri, run_id, mlflow.pyfunc.load_model, "model", "training run")


def load_run_spacy_model(tracking_uri: str, run_id: str):
    """The spaCy pipeline a NER run logged with MLflow's spaCy flavor."""
    import mlflow

    return _load(tracking_uri, run_id, mlflow.spacy.load_model, "spaCy model", "NER training run")


def _load(tracking_uri: str, run_id: str, load, what: str, kind: str):
    import mlflow
    from mlflow.exceptions import MlflowException

    from seqlab.tracking.run_lookup import get_run

    run = get_run(tracking_uri, run_id)
    mlflow.set_tracking_uri(tracking_uri)
    try:
        with no_progress_bar():
            return load(f"runs:/{run_id}/model")
    except (MlflowException, OSError):
        raise SeqlabError(
            f"run '{run_id}' ({run.info.status}) has no logged {what}; only a finished {kind} has one"
        ) from None


def run_model_target(tracking_uri: str, run_id: str) -> str | None:
    """The model._target_ a run was trained with (None for a run that logged no such parameter)."""
    from seqlab.tracking.run_lookup import get_run

    return get_run(tracking_uri, run_id).data.params.get("model._target_")


@functools.cache  # the tokenizer, config and weights of one run are read from one download
def run_model_folder(tracking_uri: str | None, run_id: str, option: str = "model.net.pretrained") -> Path:
    """The folder holding the config.json of the model run `run_id` logged (a save_pretrained folder), downloaded
    once; `tracking_uri` None: MLflow's own (MLFLOW_TRACKING_URI, else the local store seqlab writes)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from seqlab.tracking.run_lookup import get_run

    tracking_uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or LOCAL_STORE
    if not run_id:
        raise SeqlabError(f"{option}=mlflow: names no run; give mlflow:<run_id>")
    run = get_run(tracking_uri, run_id)
    mlflow.set_tracking_uri(tracking_uri)
    try:
        with no_progress_bar():
            local = Path(mlflow.artifacts.download_artifacts(f"runs:/{run_id}/model"))
    except (MlflowException, OSError):
        raise SeqlabError(f"{option}=mlflow:{run_id}: run ({run.info.status}) has no logged model; "
                          f"give a finished training run's id") from None
    configs = sorted(local.rglob("config.json"), key=lambda p: len(p.parts))
    if not configs:
        raise SeqlabError(f"{option}=mlflow:{run_id}: the run's model is not a from_pretrained model (no "
                          f"config.json); give a run that fine-tuned or pretrained a Transformer")
    return configs[0].parent
