"""Read back what runs recorded: a run by its id or its run folder, its final metrics and metric histories."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from seqlab.errors import SeqlabError
from seqlab.tracking.outbox import apply_http_defaults

# MLflow is imported where used: the commands (resume among them) import this module at start-up


def parse_overrides(text: str) -> dict[str, str]:
    """The `overrides` tag (written with shlex.join) back into {key: value}; `+key`, `++key` and `~key` as
    `key`."""
    pairs = (o.split("=", 1) for o in shlex.split(text) if "=" in o)
    return {key.lstrip("+~"): value for key, value in pairs}


def run_record(tracking_uri: str, run_dir: str, histories: tuple[str, ...] = ()) -> dict:
    """{run_id, status, metrics (last values), history: {key: [values by step]}, history_steps: {key: [their
    steps]}} of the run logged from run_dir."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments, f"tags.run_dir = '{run_dir}'", max_results=1)
    if not runs:
        return {}
    run = runs[0]
    logged = {key: sorted(client.get_metric_history(run.info.run_id, key), key=lambda m: m.step)
              for key in histories}
    return {
        "run_id": run.info.run_id,
        "status": run.info.status,
        "metrics": dict(run.data.metrics),
        "history": {key: [m.value for m in metrics] for key, metrics in logged.items()},
        "history_steps": {key: [m.step for m in metrics] for key, metrics in logged.items()},
    }


def sweep_trials(tracking_uri: str, sweep_id: str) -> list[dict]:
    """Every trial run of a sweep: run_id, status, metrics, tags, and the overrides that trial was given."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments, f"tags.sweep_id = '{sweep_id}'")
    return [
        {
            "run_id": run.info.run_id,
            "status": run.info.status,
            "metrics": dict(run.data.metrics),
            "tags": dict(run.data.tags),
            "swept": parse_overrides(run.data.tags.get("overrides", "")),
        }
        for run in runs
        if run.data.tags.get("sweep") != "parent"
    ]


def experiment_runs(tracking_uri: str, experiment: str, sweep: str | None = None) -> list[dict]:
    """Every run of an experiment (or of one sweep in it), sweep parents left out, as plain records."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        names = sorted(e.name for e in client.search_experiments())
        raise SeqlabError(f"no experiment '{experiment}' in {tracking_uri}; "
                          f"experiments: {', '.join(names) or 'none'}")
    query = f"tags.sweep_id = '{sweep}'" if sweep else ""
    runs = client.search_runs([found.experiment_id], query, max_results=5000)
    return [_record(run) for run in runs if run.data.tags.get("sweep") != "parent"]


def _record(run) -> dict:
    """An MLflow run as a plain record: ids, name, status, wall seconds, metrics, params, tags, overrides."""
    return {
        "run_id": run.info.run_id,
        "name": run.info.run_name,
        "status": run.info.status,
        "seconds": ((run.info.end_time or run.info.start_time) - run.info.start_time) / 1000,
        "metrics": dict(run.data.metrics),
        "params": dict(run.data.params),
        "tags": dict(run.data.tags),
        "overrides": parse_overrides(run.data.tags.get("overrides", "")),
    }


def run_records(tracking_uri: str, run_ids: list[str]) -> list[dict]:
    """The runs of these ids as experiment_runs gives them, each with its experiment's name; an id the store
    does not hold (a run deleted since) is left out."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    records = []
    for run_id in run_ids:
        try:
            run = client.get_run(run_id)
        except MlflowException as err:
            if err.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            continue
        records.append({**_record(run), "experiment": client.get_experiment(run.info.experiment_id).name})
    return records


def run_in_folder(tracking_uri: str, folder_name: str) -> dict | None:
    """The run logged from a run folder whose name is `folder_name` (a name made unique by its caller), as
    run_records gives it; None when no run was."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments, f"tags.run_dir LIKE '%/{folder_name}'", max_results=1)
    return run_records(tracking_uri, [runs[0].info.run_id])[0] if runs else None


def sweep_experiment(tracking_uri: str, sweep_id: str) -> str:
    """The name of the experiment a sweep's parent run is in."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    [parent] = client.search_runs(experiments, f"tags.sweep = 'parent' and tags.sweep_id = '{sweep_id}'")
    return client.get_experiment(parent.info.experiment_id).name


def sweep_ids_since(tracking_uri: str, since: float) -> list[str]:
    """The sweep_id of every sweep parent run in the store that started at or after `since` (seconds since the
    epoch, as time.time gives)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    query = f"tags.sweep = 'parent' and attributes.start_time >= {int(since * 1000)}"
    return [parent.data.tags["sweep_id"] for parent in client.search_runs(experiments, query)]


def metric_history(tracking_uri: str, run_id: str, key: str) -> list[tuple[int, float]]:
    from mlflow.tracking import MlflowClient

    history = MlflowClient(tracking_uri).get_metric_history(run_id, key)
    return [(m.step, m.value) for m in sorted(history, key=lambda m: (m.step, m.timestamp))]


@contextmanager
def reading(tracking_uri: str) -> Iterator[None]:
    """Inside, a store that cannot be read (a server that does not answer, a broken database) is one
    SeqlabError naming it; a server is given seconds, not MLflow's minutes of retries. A SQLite file that does
    not exist is refused before MLflow would create an empty store there."""
    from mlflow.exceptions import MlflowException

    if tracking_uri.startswith(("http://", "https://")):
        apply_http_defaults()
    if tracking_uri.startswith("sqlite:///") and not Path(tracking_uri.removeprefix("sqlite:///")).is_file():
        raise SeqlabError(f"no MLflow store at {tracking_uri} (no such file); point MLFLOW_TRACKING_URI or "
                          "tracking_uri= at the store the runs went to")
    try:
        yield
    except MlflowException as err:
        if err.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise
        first = str(err.message).splitlines()[0][:300]
        raise SeqlabError(f"cannot read the MLflow store {tracking_uri}: {first}; check that it runs, or "
                          "point MLFLOW_TRACKING_URI or tracking_uri= at another store") from None


def get_run(tracking_uri: str, run_id: str, purpose: str = ""):
    """The MLflow run `run_id`; a run id the store does not hold is a SeqlabError saying where to find ids.
    purpose (" to resume"): what the run was wanted for, said in that message."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    with reading(tracking_uri):
        try:
            return MlflowClient(tracking_uri).get_run(run_id)
        except MlflowException as err:
            if err.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            raise SeqlabError(f"no MLflow run '{run_id}' in {tracking_uri}{purpose}; "
                              "find run ids with `make ui` or `make compare`") from None


def run_tags(tracking_uri: str, run_id: str) -> dict[str, str]:
    return dict(get_run(tracking_uri, run_id).data.tags)
