"""Read back what runs recorded: find a run by its run folder, its final metrics and metric histories."""

from __future__ import annotations


def run_record(tracking_uri: str, run_dir: str, histories: tuple[str, ...] = ()) -> dict:
    """{run_id, status, metrics (last values), history: {key: [values by step]}} of the run logged from run_dir."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments, f"tags.run_dir = '{run_dir}'", max_results=1)
    if not runs:
        return {}
    run = runs[0]
    return {
        "run_id": run.info.run_id,
        "status": run.info.status,
        "metrics": dict(run.data.metrics),
        "history": {
            key: [m.value for m in sorted(client.get_metric_history(run.info.run_id, key), key=lambda m: m.step)]
            for key in histories
        },
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
            "swept": dict(o.split("=", 1) for o in run.data.tags.get("overrides", "").split() if "=" in o),
        }
        for run in runs
        if run.data.tags.get("sweep") != "parent"
    ]
