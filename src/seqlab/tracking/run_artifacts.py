"""Fetch a folder that a finished run logged (e.g. its `model`) to local disk."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from seqlab.errors import SeqlabError

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


def download_run_folder(tracking_uri: str, run_id: str, artifact_path: str = "model") -> Path:
    """A local copy of the run's artifact folder; errors name the run and what to do."""
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from seqlab.tracking.run_lookup import get_run

    run = get_run(tracking_uri, run_id)
    client = MlflowClient(tracking_uri)
    if not client.list_artifacts(run_id, artifact_path):
        raise SeqlabError(
            f"run '{run_id}' ({run.info.status}) logged no '{artifact_path}' folder; only a finished training run "
            "has one"
        )
    target = Path(tempfile.mkdtemp(prefix=f"seqlab-{run_id[:8]}-"))
    try:
        with no_progress_bar():
            local = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=artifact_path, dst_path=str(target), tracking_uri=tracking_uri
            )
    except (MlflowException, OSError) as err:
        raise SeqlabError(f"cannot fetch '{artifact_path}' of run '{run_id}': {err}".splitlines()[0]) from None
    return Path(local)
