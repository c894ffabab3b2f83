"""Benchmark reports in MLflow: one run per suite report, so that runs from other machines and commits
compare in the MLflow UI."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from seqlab.tracking.mlflow_tracker import MlflowTracker

# --quick reports only check the machinery: their figures go to an experiment of their own
EXPERIMENT, QUICK_EXPERIMENT = "bench", "bench-quick"
SKIPPED = {"history", "history_steps", "runs", "machine", "overrides", "calibration", "shared_settings"}
METRICS_PER_CALL = 500
UNSAFE = re.compile(r"[^A-Za-z0-9_\-. /:]")


def tracking_uri(root: Path) -> str:
    """Where seqlab's runs go: MLFLOW_TRACKING_URI, else outputs/mlflow.db."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{root / 'outputs' / 'mlflow.db'}"


def report_metrics(report: dict) -> dict[str, float]:
    """Every number in the report (its side-by-side cases' figures, ratios and targets, its presets' results;
    a yes or no as 1 or 0; not its per-run lists, histories or machine), by its path:
    cases/lstm64/sides/seqlab/epoch_sec."""
    metrics: dict[str, float] = {}

    def walk(node, path: list[str]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key not in SKIPPED:
                    walk(value, [*path, str(key)])
        elif isinstance(node, bool):
            metrics["/".join(path)] = float(node)
        elif isinstance(node, int | float):
            metrics["/".join(path)] = float(node)

    walk({k: v for k, v in report.items() if k not in ("suite", "date", "git_commit", "command")}, [])
    return {UNSAFE.sub("_", key)[:250]: value for key, value in metrics.items()}


def log_bench_report(root: Path, report_path: Path) -> str:
    """Logs one suite's report as a FINISHED run of the bench experiment, tagged with the commit, the suite
    and the machine, its figures as metrics and the report itself as an artifact; returns the run id."""
    report = json.loads(report_path.read_text())
    commit, machine = report.get("git_commit", "unknown"), report.get("machine", {})
    tags = {"git_commit": commit, "suite": report["suite"], "quick": str(bool(report.get("quick"))).lower(),
            "date": report.get("date", ""), "command": report.get("command", "")[:5000],
            **{f"machine.{k}": str(v) for k, v in machine.items()}}
    tracker = MlflowTracker(tracking_uri(root), artifact_root=str(root / "outputs" / "mlartifacts"))
    experiment = QUICK_EXPERIMENT if report.get("quick") else EXPERIMENT
    params = {f"machine.{k}": v for k, v in machine.items()}
    tracker.start(experiment, f"{report['suite']} {commit[:8]}", params, tags, str(report_path.parent))
    metrics = report_metrics(report)
    items = list(metrics.items())
    for i in range(0, len(items), METRICS_PER_CALL):
        tracker.log_metrics(dict(items[i : i + METRICS_PER_CALL]))
    tracker.log_artifact(report_path, "bench")
    tracker.end("FINISHED")
    return tracker.run_id
