"""The MLflow tracker: one MLflow run per training, with the same methods as the trackers of
tracker.py."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient
from sqlalchemy.exc import OperationalError

from seqlab.errors import SeqlabError
from seqlab.tasks.outputs import ModelKind
from seqlab.tracking.datasets import dataset_inputs
from seqlab.tracking.lineage import FINETUNED_BY
from seqlab.tracking.orphaned_runs import end_orphaned_runs, process_tag
from seqlab.tracking.outbox import Outbox
from seqlab.tracking.pyfunc_classifier import log_classifier, log_pretrained_classifier
from seqlab.tracking.pyfunc_entity_recognizer import log_spacy_recognizer, log_token_classifier
from seqlab.tracking.pyfunc_generator import log_generator
from seqlab.tracking.pyfunc_translator import log_translator
from seqlab.tracking.registry import register_run_model

PARAMS_PER_CALL = 100
# the MLflow UI opens an experiment of this kind on its training runs (not on the GenAI traces overview)
EXPERIMENT_TAGS = {"mlflow.experimentKind": "custom_model_development"}
LINEAGE_TRIES = 5  # writes of the source run's FINETUNED_BY tag before giving up

# (tracking_uri, run_id, model_dir, examples): logs model_dir as the run's MLflow pyfunc model "model"
PyfuncLogger = Callable[[str, str, str | Path, list[str]], None]
# each kind of exported model -> the function that logs it as an MLflow pyfunc; None: a kind without a pyfunc,
# whose folder is logged as plain files under model/ (a masked language model: only fine-tuning reads it)
MODEL_LOGGERS: dict[ModelKind, PyfuncLogger | None] = {
    ModelKind.TEXT_CLASSIFIER: log_classifier,
    ModelKind.PRETRAINED_TEXT_CLASSIFIER: log_pretrained_classifier,
    ModelKind.TRANSLATOR: log_translator,
    ModelKind.LANGUAGE_MODEL: log_generator,
    ModelKind.TOKEN_CLASSIFIER: log_token_classifier,
    ModelKind.SPACY: log_spacy_recognizer,
    ModelKind.MASKED_LANGUAGE_MODEL: None,
}


class MlflowTracker:
    """Creates the run itself and hands it to Lightning by run_id, so that it decides the run's status
    (FINISHED, FAILED, KILLED) and every MLflow call stays in tracking/."""

    has_registry = True  # register_model registers the run's model in the store's model registry

    def __init__(self, tracking_uri: str, artifact_root: str | None = None,
                 experiment_name: str | None = None, fallback_to_local: bool = False,
                 local_uri: str = "sqlite:///outputs/mlflow.db"):
        self.tracking_uri = tracking_uri
        self.fallback_to_local, self.local_uri = fallback_to_local, local_uri
        self.artifact_root = artifact_root
        self.experiment_override = experiment_name
        self.run_id: str | None = None
        self.logged_steps: dict[str, int] = {}  # metric -> last step, in a resumed run
        self.run_dir: str | None = None
        self.outbox = Outbox(tracking_uri, remote=not self._local_store)

    @property
    def _local_store(self) -> bool:
        return not self.tracking_uri.startswith(("http://", "https://", "databricks"))

    def _client(self) -> MlflowClient:
        return MlflowClient(tracking_uri=self.tracking_uri)

    def _experiment_id(self, client, name: str) -> str:
        found = client.get_experiment_by_name(name)
        if found is not None:
            for key, value in EXPERIMENT_TAGS.items():  # experiments made before seqlab set the kind
                if key not in found.tags:
                    client.set_experiment_tag(found.experiment_id, key, value)
            return found.experiment_id
        location = None
        if self._local_store and self.artifact_root:
            root = Path(self.artifact_root).resolve()
            root.mkdir(parents=True, exist_ok=True)
            location = root.as_uri()
        try:
            return client.create_experiment(name, artifact_location=location, tags=EXPERIMENT_TAGS)
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
        tags = {**tags, **process_tag()}
        try:
            run = self._with_retries(lambda: self._create_run(experiment, run_name, tags))
        except Exception as err:
            if self.fallback_to_local and self.tracking_uri != self.local_uri:
                print(f"warning: cannot reach the MLflow tracking store {self.tracking_uri} "
                      f"({type(err).__name__}); this run is logged to {self.local_uri} instead "
                      "(`make ui` shows it)", file=sys.stderr)
                self.tracking_uri = self.local_uri
                self.outbox = Outbox(self.local_uri, remote=not self._local_store)
                return self.start(experiment, run_name, params, tags, run_dir)
            raise SeqlabError(
                f"cannot reach the MLflow tracking store {self.tracking_uri} ({type(err).__name__}: {err}); "
                "start the server, fix MLFLOW_TRACKING_URI, set logger.fallback_to_local=true, "
                "or use logger=csv"
            ) from None
        self.run_id = run.info.run_id
        self.run_dir = str(run_dir)
        self.log_params(params)
        self.set_tags({"run_dir": str(run_dir)})
        self._end_orphaned_runs()

    def _end_orphaned_runs(self) -> None:
        try:
            end_orphaned_runs(self._client())
        except Exception as err:  # a courtesy to earlier runs: it never stops this one
            print("warning: could not check for runs left RUNNING by a gone process "
                  f"({type(err).__name__}: {err})", file=sys.stderr)

    def resume(self, run) -> str:
        """Reopens a training run (read by seqlab.training.resumption.resume_run, which checks that it can go
        on) and returns its run folder. Metrics it already holds are not logged again: each history goes
        on."""
        client = self._client()
        run_id, run_dir = run.info.run_id, run.data.tags["run_dir"]
        self.run_id, self.run_dir = run_id, run_dir
        self.logged_steps = {
            key: max(m.step for m in client.get_metric_history(run_id, key)) for key in run.data.metrics
        }
        client.update_run(run_id, status="RUNNING")
        self.set_tags(process_tag())  # this process writes it now
        self._end_orphaned_runs()
        return run_dir

    def log_params(self, params: dict[str, str]) -> None:
        items = [Param(k, str(v)[:250]) for k, v in params.items()]
        for i in range(0, len(items), PARAMS_PER_CALL):
            chunk = items[i : i + PARAMS_PER_CALL]
            self.outbox.send(f"{len(chunk)} params",
                             lambda c=chunk: self._client().log_batch(self.run_id, params=c))

    def set_tags(self, tags: dict[str, str]) -> None:
        batch = [RunTag(k, str(v)) for k, v in tags.items()]
        self.outbox.send(f"tags {', '.join(tags)}", lambda: self._client().log_batch(self.run_id, tags=batch))

    def record_fine_tuning(self, source_run_id: str) -> None:
        """Adds this run to the FINETUNED_BY tag of the run whose model it fine-tuned (comma-separated run
        ids, oldest first)."""
        self.outbox.send(f"tag {FINETUNED_BY} of run {source_run_id}",
                         lambda: self._append_fine_tuning(source_run_id))

    def _append_fine_tuning(self, source_run_id: str) -> None:
        """Read, append, write, and read again until this run is listed: another run finishing at the same
        moment may have written its own list over this one. A source run that cannot take the tag (deleted,
        the list too long for a tag) is a warning: the fine-tuning itself succeeded."""
        client = self._client()
        try:
            for _ in range(LINEAGE_TRIES):
                listed = client.get_run(source_run_id).data.tags.get(FINETUNED_BY, "")
                runs = [r for r in listed.split(",") if r]
                if self.run_id in runs:  # listed (a resumed fine-tuning finishes again)
                    return
                client.set_tag(source_run_id, FINETUNED_BY, ",".join([*runs, self.run_id]))
                time.sleep(0.1)
            raise RuntimeError(f"other runs kept writing the tag over this one {LINEAGE_TRIES} times")
        except Exception as err:
            print(f"warning: could not list this run in the {FINETUNED_BY} tag of run {source_run_id} "
                  f"({type(err).__name__}: {err})", file=sys.stderr)

    def lightning_logger(self):
        # Lightning is imported here only: bench reports and a sweep's parent run use this tracker without it
        from lightning.pytorch.loggers import MLFlowLogger

        class RunOwnedMLFlowLogger(MLFlowLogger):
            def finalize(self, status: str = "success") -> None:
                """The tracker ends the run, once, with its real status."""

            def log_metrics(self, metrics: dict, step: int | None = None) -> None:
                """A resumed run replays steps after its checkpoint: what the run already holds is kept."""
                fresh = {k: v for k, v in metrics.items() if step is None or step > logged_steps.get(k, -1)}
                if fresh:
                    outbox.send_metrics(super().log_metrics, fresh, step)

            def log_file(self, path: str | Path, artifact_path: str | None = None) -> None:
                """A file a task writes while training (e.g. each epoch's samples), logged through the outbox:
                a server that does not answer gets it later, or it is reported at the end, and training goes
                on."""
                outbox.send(f"artifact {path}",
                            lambda: self.experiment.log_artifact(self.run_id, str(path), artifact_path))

        logged_steps, outbox = self.logged_steps, self.outbox
        return RunOwnedMLFlowLogger(tracking_uri=self.tracking_uri, run_id=self.run_id)

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        path = Path(path)
        log = self._client().log_artifacts if path.is_dir() else self._client().log_artifact
        self.outbox.send(f"artifact {path}", lambda: log(self.run_id, str(path), artifact_path))

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, step or 0) for k, v in metrics.items()]
        self.outbox.send_metrics(lambda m, s: self._client().log_batch(self.run_id, metrics=batch), metrics,
                                 step)

    def log_datasets(self, splits: list) -> None:
        """Each split as an MLflow dataset input (seqlab.tracking.datasets): the UI's Dataset column."""
        inputs = dataset_inputs(splits)
        self.outbox.send(f"{len(inputs)} dataset inputs",
                         lambda: self._client().log_inputs(self.run_id, inputs))

    def log_model(self, model_dir: str | Path, kind: ModelKind, examples: list[str] | None = None) -> None:
        """Logs model_dir the way MODEL_LOGGERS says for its kind (a ModelKind or its value: any other is a
        ValueError, before anything is sent)."""
        log = MODEL_LOGGERS[ModelKind(kind)]
        self.outbox.send(f"model {model_dir}", lambda: self._log_model(log, model_dir, examples or []))

    def _log_model(self, log: PyfuncLogger | None, model_dir: str | Path, examples: list[str]) -> None:
        """Logs model_dir as the run's MLflow pyfunc model "model" (seqlab.tracking.pyfunc_model), `examples`
        (texts of the run's data) as its input example; a kind without a pyfunc as plain files."""
        if log is None:
            self.log_artifact(model_dir, "model")
            return
        log(self.tracking_uri, self.run_id, model_dir, examples)

    def register_model(self, name: str) -> None:
        """Registers the model this run logged under `name` (a new version), and says so."""
        register_run_model(self.tracking_uri, self.run_id, name)

    def end(self, status: str) -> None:
        if self.run_id is None:
            return
        self.outbox.retry(force=True)  # one last try for metrics kept while the server was away
        self.outbox.send(f"status {status}", lambda: self._client().set_terminated(self.run_id, status))
        self.outbox.report(self.run_dir)
