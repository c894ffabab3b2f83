"""Compare runs: rank them by a metric, show their differing params and durations, plot and write a report."""

from __future__ import annotations

import math
import os
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from seqlab.errors import SeqlabError
from seqlab.tracking.plots import curves_png, scatter_png, spread_png
from seqlab.tracking.run_lookup import experiment_runs, metric_history
from seqlab.tracking.sweep import OBJECTIVE

SHOWN_PARAMS = 6


@dataclass
class CompareOptions:
    experiment: str = "sst2-classification"  # MLflow experiment, <dataset>-<task>
    sweep: str | None = None  # a sweep_id: its trials only, plus the metric against each swept param
    metric: str | None = None  # default: the metric the runs optimized
    mode: str | None = None  # max | min; default: the runs' optimized_mode
    top: int = 20  # rows in the table and the report
    tracking_uri: str = field(default_factory=lambda: os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///outputs/mlflow.db"))
    output_dir: str = "outputs/reports"


def compare_from_options(options: CompareOptions) -> dict:
    return compare(options.tracking_uri, options.experiment, Path(options.output_dir), options.sweep,
                   options.metric, options.mode, options.top)


def score(run: dict, metric: str) -> float:
    """The run's best value of `metric` when that is what it optimized (its objective), else the last value."""
    if run["params"].get("optimized_metric") == metric and OBJECTIVE in run["metrics"]:
        return run["metrics"][OBJECTIVE]
    return run["metrics"].get(metric, math.nan)


def varying_params(runs: list[dict]) -> list[str]:
    keys = sorted({k for r in runs for k in r["params"]})
    where = ("paths.", "logger.", "dirpath", "default_root_dir", "data_dir")  # folders differ per run by design
    return [k for k in keys if len({r["params"].get(k) for r in runs}) > 1 and not any(w in k for w in where)]


def short(value: str) -> str:
    try:
        return f"{float(value):.4g}"
    except ValueError:
        return value[:16]


def compare(tracking_uri: str, experiment: str, out_dir: Path, sweep: str | None = None,
            metric: str | None = None, mode: str | None = None, top: int = 20) -> dict:
    runs = experiment_runs(tracking_uri, experiment, sweep)
    if not runs:
        raise SeqlabError(f"no runs in experiment '{experiment}'" + (f" for sweep '{sweep}'" if sweep else ""))
    metric = metric or Counter(r["params"].get("optimized_metric", "val/acc") for r in runs).most_common(1)[0][0]
    mode = mode or Counter(r["params"].get("optimized_mode", "max") for r in runs).most_common(1)[0][0]
    if mode not in ("max", "min"):
        raise SeqlabError(f"mode={mode} must be max or min")
    for run in runs:
        run["score"] = score(run, metric)
    scored = [r for r in runs if not math.isnan(r["score"])]
    if not scored:
        raise SeqlabError(f"no run of '{experiment}' has the metric '{metric}'; pass metric=<name>")
    ranked = sorted(scored, key=lambda r: r["score"], reverse=mode == "max")
    ranked += [r for r in runs if math.isnan(r["score"])]
    best = ranked[0]
    params = varying_params(ranked)
    print_table(ranked[:top], metric, params[:SHOWN_PARAMS], best)

    slug = experiment + (f"-{sweep}" if sweep else "")
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = write_plots(tracking_uri, ranked[:top], metric, params if sweep else [], out_dir, slug)
    report = out_dir / f"compare-{slug}.md"
    report.write_text(markdown(experiment, sweep, metric, mode, ranked[:top], params[:SHOWN_PARAMS], best, plots))
    Console().print(f"best: {best['run_id']} ({best['name']})\n{metric} = {best['score']:.4f}\nreport: {report}")
    return {"best_run_id": best["run_id"], "best_score": best["score"], "metric": metric, "report": report,
            "plots": plots, "ranked": [r["run_id"] for r in ranked]}


def print_table(runs: list[dict], metric: str, params: list[str], best: dict) -> None:
    table = Table(title=f"runs ranked by {metric}")
    headers = ["", "run id", "model", "status", metric, *(".".join(p.split(".")[-2:]) for p in params), "seconds"]
    for header in headers:
        table.add_column(header, justify="right" if header in (metric, "seconds") else "left", no_wrap=True)
    for run in runs:
        marker = "★" if run is best else ""
        value = "" if math.isnan(run["score"]) else f"{run['score']:.4f}"
        cells = [short(run["params"].get(p, "")) for p in params]
        model = run["tags"].get("model", "")
        table.add_row(marker, run["run_id"][:8], model, run["status"], value, *cells, f"{run['seconds']:.0f}")
    Console().print(table)


def write_plots(uri: str, runs: list[dict], metric: str, swept: list[str], out_dir: Path, slug: str) -> list[Path]:
    plots = []
    by_model = defaultdict(list)
    for run in runs:
        if not math.isnan(run["score"]):
            by_model[run["tags"].get("model", "?")].append(run["score"])
    plots.append(spread_png(by_model, metric, out_dir / f"compare-{slug}-models.png"))
    curve_key = metric if metric.startswith("val/") else "val/loss"
    curves = {r["name"][:40]: metric_history(uri, r["run_id"], curve_key) for r in runs[:10]}
    plots.append(curves_png(curves, curve_key, out_dir / f"compare-{slug}-curves.png"))
    for param in swept:
        points = [(r["params"].get(param), r["score"]) for r in runs if not math.isnan(r["score"])]
        plots.append(scatter_png(points, param, metric, out_dir / f"compare-{slug}-{param.replace('/', '_')}.png"))
    return plots


def markdown(experiment, sweep, metric, mode, runs, params, best, plots) -> str:
    lines = [f"# Runs of {experiment}" + (f", sweep {sweep}" if sweep else ""), "",
             f"Ranked by {metric} ({mode}). Best: **{best['name']}** (`{best['run_id']}`), {best['score']:.4f}.", "",
             "| | run | status | " + " | ".join([metric, *params, "seconds"]) + " |",
             "|" + "---|" * (len(params) + 5)]
    for run in runs:
        value = "" if math.isnan(run["score"]) else f"{run['score']:.4f}"
        cells = [run["params"].get(p, "") for p in params]
        mark = "★" if run is best else ""
        row = [mark, f"`{run['run_id'][:8]}` {run['name']}", run["status"], value, *cells, f"{run['seconds']:.0f}"]
        lines.append("| " + " | ".join(row) + " |")
    values = [r["score"] for r in runs if not math.isnan(r["score"])]
    if len(values) > 1:
        lines += ["", f"Spread of {metric}: mean {statistics.mean(values):.4f}, sd {statistics.stdev(values):.4f}."]
    lines += [""] + [f"![{p.stem}]({p.name})" for p in plots]
    return "\n".join(lines) + "\n"
