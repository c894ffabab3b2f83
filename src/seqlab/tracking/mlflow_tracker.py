"""MLflow tracking: one run per training, created here and handed to Lightning by run_id, so that this module
decides the run's status (FINISHED, FAILED, KILLED) and every MLflow call stays in tracking/."""

from __future__ import annotations

import time
from pathlib import Path

from seqlab.errors import SeqlabError

PARAMS_PER_CALL = 100


class MlflowTracker:
    def __init__(self, tracking_uri: str, artifact_root: str | None = None, experiment_name: str | None = None):
        self.tracking_uri = tracking_uri
        self.artifact_root = artifact_root
        self.experiment_override = experiment_name
        self.run_id: str | None = None

    @property
    def _local_store(self) -> bool:
        return not self.tracking_uri.startswith(("http://", "https://", "databricks"))

    def _client(self):
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri)

    def _experiment_id(self, client, name: str) -> str:
        found = client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        location = None
        if self._local_store and self.artifact_root:
            root = Path(self.artifact_root).resolve()
            root.mkdir(parents=True, exist_ok=True)
            location = root.as_uri()
        try:
            return client.create_experiment(name, artifact_location=location)
        except Exception:  # another process created it first
            found = client.get_experiment_by_name(name)
            if found is None:
                raise
            return found.experiment_id

    def _create_run(self, experiment: str, run_name: str, tags: dict):
        client = self._client()
        exp_id = self._experiment_id(client, self.experiment_override or experiment)
        return client.create_run(exp_id, run_name=run_name, tags=tags)

    def _with_retries(self, call, attempts: int = 6):
        """Parallel processes on one SQLite file can meet a lock, or each other creating its tables: retry."""
        from sqlalchemy.exc import OperationalError

        for attempt in range(attempts):
            try:
                return call()
            except OperationalError:
                if attempt == attempts - 1 or not self.tracking_uri.startswith("sqlite"):
                    raise
                time.sleep(0.5 * (attempt + 1))

    def start(self, experiment: str, run_name: str, params: dict, tags: dict, run_dir: str) -> None:
        if self._local_store and self.tracking_uri.startswith("sqlite:///"):
            Path(self.tracking_uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        try:
            run = self._with_retries(lambda: self._create_run(experiment, run_name, tags))
        except Exception as err:
            raise SeqlabError(
                f"cannot reach the MLflow tracking store {self.tracking_uri} ({type(err).__name__}: {err}); "
                "start the server, fix MLFLOW_TRACKING_URI, or use logger=csv"
            ) from None
        self.run_id = run.info.run_id
        self.log_params(params)
        self.set_tags({"run_dir": str(run_dir)})

    def log_params(self, params: dict[str, str]) -> None:
        from mlflow.entities import Param

        items = [Param(k, str(v)[:250]) for k, v in params.items()]
        for i in range(0, len(items), PARAMS_PER_CALL):
            self._client().log_batch(self.run_id, params=items[i : i + PARAMS_PER_CALL])

    def set_tags(self, tags: dict[str, str]) -> None:
        from mlflow.entities import RunTag

        self._client().log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def lightning_logger(self):
        from lightning.pytorch.loggers import MLFlowLogger

        class RunOwnedMLFlowLogger(MLFlowLogger):
            def finalize(self, status: str = "success") -> None:
                """The tracker ends the run, once, with its real status."""

        return RunOwnedMLFlowLogger(tracking_uri=self.tracking_uri, run_id=self.run_id)

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        path = Path(path)
        if path.is_dir():
            self._client().log_artifacts(self.run_id, str(path), artifact_path)
        else:
            self._client().log_artifact(self.run_id, str(path), artifact_path)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, step or 0) for k, v in metrics.items()]
        self._client().log_batch(self.run_id, metrics=batch)

    def log_model(self, model_dir: str | Path, kind: str) -> None:
        """Logs model_dir as the run's model: "text_classifier" as a pyfunc, any other kind as plain files."""
        import mlflow

        if kind != "text_classifier":
            self.log_artifact(model_dir, "model")
            return
        from seqlab.tracking.pyfunc_classifier import TextClassifierPyfunc

        mlflow.set_tracking_uri(self.tracking_uri)
        with mlflow.start_run(run_id=self.run_id, nested=mlflow.active_run() is not None):
            mlflow.pyfunc.log_model(
                name="model",
                python_model=TextClassifierPyfunc(),
                artifacts={"bundle": str(model_dir)},
                pip_requirements=["torch", "tokenizers", "safetensors", "hydra-core", "pandas", "seqlab"],
            )
        # leaving the block marks the run FINISHED; end() sets the final status after this

    def end(self, status: str) -> None:
        if self.run_id is not None:
            self._client().set_terminated(self.run_id, status)
