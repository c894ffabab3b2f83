"""What a run prints when it ends: its final metrics and where to find it."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table


def print_summary(metrics: dict[str, float], run_id: str | None, run_dir: Path) -> None:
    table = Table(title="final metrics")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name in sorted(metrics):
        table.add_row(name, f"{metrics[name]:.4f}")
    console = Console()
    console.print(table)
    if run_id:
        console.print(f"MLflow run id: {run_id}")
    console.print(f"run dir: {run_dir}")
