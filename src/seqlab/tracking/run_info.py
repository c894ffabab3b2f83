"""What identifies a run: experiment and run names, git commit, the Hydra overrides, the command line and the
Ray worker that ran it."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path


def experiment_name(dataset: str, task: str) -> str:
    return f"{dataset}-{task}"


def run_name(model: str, overrides: list[str]) -> str:
    shown = [o for o in overrides if not o.startswith(("hydra.", "paths.", "logger."))]
    return " ".join([model, *shown])[:250]


def git_commit(cwd: str | Path | None = None) -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5, check=True
        )
        commit = out.stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd, capture_output=True, text=True,
            timeout=5,
        ).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def command_line() -> str:
    return shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])


def source_tags() -> dict[str, str]:
    """MLflow's own tags for where a run came from: the UI's Source column shows the command."""
    return {"mlflow.source.name": command_line()[:5000], "mlflow.source.type": "LOCAL"}


def ray_worker_tags() -> dict[str, str]:
    """The Ray node, worker and task that run this trial when a Ray worker runs it (hydra/launcher=ray),
    nothing elsewhere: Ray is asked only where this process already imported it, which every Ray worker
    has."""
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return {}
    context = ray.get_runtime_context()
    if context.worker.mode != ray.WORKER_MODE:  # a driver, which runs no task
        return {}
    return {"ray.node_id": context.get_node_id(), "ray.worker_id": context.get_worker_id(),
            "ray.task_id": context.get_task_id()}
