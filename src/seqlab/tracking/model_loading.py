"""Load what a finished MLflow run logged: its pyfunc model."""

from __future__ import annotations

from seqlab.errors import SeqlabError


def load_run_model(tracking_uri: str, run_id: str):
    import mlflow
    from mlflow.exceptions import MlflowException

    mlflow.set_tracking_uri(tracking_uri)
    try:
        run = mlflow.get_run(run_id)
    except MlflowException:
        raise SeqlabError(
            f"no MLflow run '{run_id}' in {tracking_uri}; find run ids with `make ui` or `make compare`"
        ) from None
    try:
        return mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    except (MlflowException, OSError):
        raise SeqlabError(
            f"run '{run_id}' ({run.info.status}) has no logged model; only a finished training run has one"
        ) from None


def load_run_spacy_model(tracking_uri: str, run_id: str):
    """The spaCy pipeline a NER run logged with MLflow's spaCy flavor."""
    import mlflow
    from mlflow.exceptions import MlflowException

    mlflow.set_tracking_uri(tracking_uri)
    try:
        run = mlflow.get_run(run_id)
    except MlflowException:
        raise SeqlabError(
            f"no MLflow run '{run_id}' in {tracking_uri}; find run ids with `make ui` or `make compare`"
        ) from None
    try:
        return mlflow.spacy.load_model(f"runs:/{run_id}/model")
    except (MlflowException, OSError):
        raise SeqlabError(
            f"run '{run_id}' ({run.info.status}) has no logged spaCy model; only a finished NER training run has one"
        ) from None
