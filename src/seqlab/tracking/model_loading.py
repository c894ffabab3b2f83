"""Load what a finished MLflow run logged: its pyfunc model, or a NER run's spaCy pipeline."""

from __future__ import annotations

from seqlab.errors import SeqlabError


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
        return load(f"runs:/{run_id}/model")
    except (MlflowException, OSError):
        raise SeqlabError(
            f"run '{run_id}' ({run.info.status}) has no logged {what}; only a finished {kind} has one"
        ) from None
