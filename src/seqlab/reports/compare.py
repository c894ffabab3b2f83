"""Compare runs: rank them by a metric, show their swept and differing params and durations, set them side by
side per family or model, plot and write a report."""

from __future__ import annotations

import math
import os
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from seqlab.config.metric_direction import direction
from seqlab.errors import SeqlabError
from seqlab.reports import group_summary
from seqlab.tracking.run_lookup import experiment_runs, metric_history, reading
from seqlab.tracking.sweep import OBJECTIVE

# rich and matplotlib (plots) are imported only when a table is printed or a plot drawn, so that
# `make compare` starts fast and a bad option fails at once

SHOWN_PARAMS = 6
CURVES = 10  # runs drawn in the validation-curves plot, the best first


@dataclass
class CompareOptions:
    experiment: str = "sst2-classification"  # MLflow experiment, <dataset>-<task>
    sweep: str | None = None  # a sweep_id: its trials only, plus the metric against each swept param
    metric: str | None = None  # default: the metric the runs optimized
    # max | min; default: the runs' optimized_mode for the metric they optimized, else min for a loss, ppl,
    # bpc or epoch_sec metric and max for the rest
    mode: str | None = None
    top: int = 20  # rows in the table and the report
    tracking_uri: str = field(
        default_factory=lambda: os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///outputs/mlflow.db"))
    output_dir: str = "outputs/reports"


def compare_from_options(options: CompareOptions) -> dict:
    with reading(options.tracking_uri):
        return compare(options.tracking_uri, options.experiment, Path(options.output_dir), options.sweep,
                       options.metric, options.mode, options.top)


def _most_common(runs: list[dict], param: str, default: str) -> str:
    return Counter(r["params"].get(param, default) for r in runs).most_common(1)[0][0]


def default_mode(metric: str, runs: list[dict]) -> str:
    """The runs' optimized_mode when `metric` is what they optimized; else min for a loss, perplexity, bits
    per character or epoch time, max for the rest (accuracy, F1, BLEU, tokens per second)."""
    if metric == _most_common(runs, "optimized_metric", "val/acc"):
        return _most_common(runs, "optimized_mode", "max")
    return direction(metric) or "max"


def score(run: dict, metric: str) -> float:
    """The run's best value of `metric` when that is what it optimized (its objective), else the last
    value."""
    if run["params"].get("optimized_metric") == metric and OBJECTIVE in run["metrics"]:
        return run["metrics"][OBJECTIVE]
    return run["metrics"].get(metric, math.nan)


def swept_keys(runs: list[dict]) -> list[str]:
    """Keys of the command-line overrides (the runs' `overrides` tag) whose values differ between the runs:
    what a sweep varied, in the order the command gave them."""
    keys = dict.fromkeys(k for r in runs for k in r["overrides"])
    return [k for k in keys if len({r["overrides"].get(k) for r in runs}) > 1]


def varying_params(runs: list[dict], skip: list[str] = ()) -> list[str]:
    keys = sorted({k for r in runs for k in r["params"]} - set(skip))
    # folders differ per run by design
    where = ("paths.", "logger.", "dirpath", "default_root_dir", "data_dir")
    return [k for k in keys
            if len({r["params"].get(k) for r in runs}) > 1 and not any(w in k for w in where)]


def value_of(run: dict, key: str) -> str:
    """A swept key's value as the run's overrides gave it, else the run's param of that name."""
    return run["overrides"].get(key, run["params"].get(key, ""))


def rank(runs: list[dict], mode: str) -> list[dict]:
    """FINISHED runs first, then the others (FAILED, KILLED, RUNNING); within each, by score, runs without one
    last."""
    sign = -1 if mode == "max" else 1
    return sorted(runs, key=lambda r: (r["status"] != "FINISHED", math.isnan(r["score"]),
                                       0.0 if math.isnan(r["score"]) else sign * r["score"]))


def short(value: str) -> str:
    try:
        return f"{float(value):.4g}"
    except ValueError:
        return value[:16]


def compare(tracking_uri: str, experiment: str, out_dir: Path, sweep: str | None = None,
            metric: str | None = None, mode: str | None = None, top: int = 20) -> dict:
    runs = experiment_runs(tracking_uri, experiment, sweep)
    if not runs:
        for_sweep = f" for sweep '{sweep}'" if sweep else ""
        raise SeqlabError(f"no runs in experiment '{experiment}'{for_sweep}")
    metric = metric or _most_common(runs, "optimized_metric", "val/acc")
    mode = mode or default_mode(metric, runs)
    if mode not in ("max", "min"):
        raise SeqlabError(f"mode={mode} must be max or min")
    for run in runs:
        run["score"] = score(run, metric)
    if all(math.isnan(r["score"]) for r in runs):
        raise SeqlabError(f"no run of '{experiment}' has the metric '{metric}'; pass metric=<name>")
    ranked = rank(runs, mode)
    best = ranked[0] if ranked[0]["status"] == "FINISHED" and not math.isnan(ranked[0]["score"]) else None
    finished = [r for r in ranked if r["status"] == "FINISHED" and not math.isnan(r["score"])]
    swept = swept_keys(ranked)
    params = (swept + varying_params(ranked, swept))[:SHOWN_PARAMS]  # the swept keys first
    by = group_summary.grouping(ranked)
    groups = group_summary.summarize(tracking_uri, finished, metric, by)
    sources = group_summary.pretraining_runs(tracking_uri, finished, by)
    print_table(ranked[:top], metric, params, best)
    group_summary.print_groups(groups, sources, metric, by)

    slug = experiment + (f"-{sweep}" if sweep else "")
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = write_plots(tracking_uri, ranked, finished, metric, swept if sweep else [], out_dir, slug, by)
    summary = group_summary.markdown(groups, sources, metric, by)
    report = out_dir / f"compare-{slug}.md"
    report.write_text(markdown(experiment, sweep, metric, mode, ranked[:top], finished, params, best, plots,
                               summary))
    from rich.console import Console

    said = f"best: {best['run_id']} ({best['name']})\n{metric} = {best['score']:.4f}" if best else \
        f"no FINISHED run has {metric} yet"
    Console().print(f"{said}\nreport: {report}")
    return {"best_run_id": best["run_id"] if best else None,
            "best_score": best["score"] if best else math.nan,
            "metric": metric, "report": report, "plots": plots, "ranked": [r["run_id"] for r in ranked],
            "group_by": by, "groups": groups, "pretraining": sources}


def print_table(runs: list[dict], metric: str, params: list[str], best: dict | None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"runs ranked by {metric}")
    shown = (".".join(p.split(".")[-2:]) for p in params)
    headers = ["", "run id", "model", "status", metric, *shown, "seconds"]
    for header in headers:
        table.add_column(header, justify="right" if header in (metric, "seconds") else "left", no_wrap=True)
    for run in runs:
        marker = "★" if run is best else ""
        value = "" if math.isnan(run["score"]) else f"{run['score']:.4f}"
        cells = [short(value_of(run, p)) for p in params]
        model = run["tags"].get("model", "")
        table.add_row(marker, run["run_id"][:8], model, run["status"], value, *cells,
                      f"{run['seconds']:.0f}")
    Console().print(table)


def curve_label(run: dict) -> str:
    """Unique per run (names repeat across sweeps and seeds): the run id's start and the name."""
    return f"{run['run_id'][:8]} {run['name'][:40]}"


def write_plots(uri: str, ranked: list[dict], finished: list[dict], metric: str, swept: list[str],
                out_dir: Path, slug: str, by: str = "model") -> list[Path]:
    """The spread per family or model (`by`) of the metric and of its test counterpart, and the metric against
    each swept key, over every FINISHED run with a score; the validation curves of the first CURVES runs of
    the ranking."""
    from seqlab.reports.plots import curves_png, scatter_png, spread_png

    values = group_summary.group_values(finished, metric, by)
    # the test panel where runs logged the test figure
    panels = {column: values[column] for column in (metric, group_summary.test_counterpart(metric))
              if column and any(values[column].values())}
    name = {"family": "families", "model": "models"}[by]
    plots = [spread_png(panels, out_dir / f"compare-{slug}-{name}.png", by)]
    curve_key = metric if metric.startswith("val/") else "val/loss"
    curves = {curve_label(r): metric_history(uri, r["run_id"], curve_key) for r in ranked[:CURVES]}
    plots.append(curves_png(curves, curve_key, out_dir / f"compare-{slug}-curves.png"))
    for key in swept:
        points = [(value_of(r, key), r["score"]) for r in finished]
        path = out_dir / f"compare-{slug}-{key.replace('/', '_')}.png"
        plots.append(scatter_png(points, key, metric, path))
    return plots


def markdown(experiment, sweep, metric, mode, runs, finished, params, best, plots, summary=()) -> str:
    """The report: the ranking's headline, the per-group summary (`summary`, Markdown lines), the runs, the
    plots."""
    said = f"Best: **{best['name']}** (`{best['run_id']}`), {best['score']:.4f}." if best else \
        f"No FINISHED run has {metric} yet."
    lines = [f"# Runs of {experiment}" + (f", sweep {sweep}" if sweep else ""), "",
             f"Ranked by {metric} ({mode}), FINISHED runs first. {said}", "", *summary, "## Runs", "",
             "| | run | status | " + " | ".join([metric, *params, "seconds"]) + " |",
             "|" + "---|" * (len(params) + 5)]
    for run in runs:
        value = "" if math.isnan(run["score"]) else f"{run['score']:.4f}"
        cells = [value_of(run, p) for p in params]
        mark = "★" if run is best else ""
        row = [mark, f"`{run['run_id'][:8]}` {run['name']}", run["status"], value, *cells,
               f"{run['seconds']:.0f}"]
        lines.append("| " + " | ".join(row) + " |")
    values = [r["score"] for r in finished]
    if len(values) > 1:
        lines += ["", f"Spread of {metric} over the {len(values)} FINISHED runs: "
                      f"mean {statistics.mean(values):.4f}, sd {statistics.stdev(values):.4f}."]
    lines += [""] + [f"![{p.stem}]({p.name})" for p in plots]
    return "\n".join(lines) + "\n"
