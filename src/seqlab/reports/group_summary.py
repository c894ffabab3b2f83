"""Runs side by side per group (family or model): the mean and spread of their metric and seconds, with the
pretraining runs they started from apart."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict

from seqlab.tracking.lineage import PRETRAINED_FROM
from seqlab.tracking.run_lookup import metric_history, run_records

EPOCH_SECONDS = "train/epoch_sec"
TRAIN_SECONDS = "train seconds"  # column: train/epoch_sec summed
RUN_SECONDS = "run seconds"      # column: the run's wall time, start to end


def grouping(runs: list[dict]) -> str:
    """'family' when any run has a family tag (the transfer report's), else 'model'."""
    return "family" if any(r["tags"].get("family") for r in runs) else "model"


def group_of(run: dict, by: str) -> str:
    return run["tags"].get(by) or run["tags"].get("model", "?")


def test_counterpart(metric: str) -> str | None:
    """The test split's figure of a validation metric (val/acc -> test/acc); None for any other metric."""
    return "test/" + metric.removeprefix("val/") if metric.startswith("val/") else None


def train_seconds(tracking_uri: str, run_id: str) -> float:
    """Seconds a run spent in training batches: its train/epoch_sec summed over epochs (NaN when it logged
    none)."""
    history = metric_history(tracking_uri, run_id, EPOCH_SECONDS)
    return sum(value for _, value in history) if history else math.nan


def spread(values: list[float]) -> dict:
    """{n, mean, sd} of the values that are numbers; sd is NaN below two values, mean below one."""
    values = [v for v in values if not math.isnan(v)]
    return {"n": len(values), "mean": statistics.mean(values) if values else math.nan,
            "sd": statistics.stdev(values) if len(values) > 1 else math.nan}


def columns(metric: str) -> list[str]:
    return [metric, *filter(None, [test_counterpart(metric)]), TRAIN_SECONDS, RUN_SECONDS]


def group_values(finished: list[dict], metric: str, by: str) -> dict[str, dict[str, list[float]]]:
    """{column: {group: the values of its runs}} over the FINISHED runs with a score; values a run lacks are
    left out. The seconds columns read run["train_seconds"], which summarize sets."""
    test = test_counterpart(metric)
    values: dict[str, dict[str, list[float]]] = {c: {} for c in columns(metric)}
    for run in finished:
        group = group_of(run, by)
        row = {metric: run["score"], test: run["metrics"].get(test, math.nan) if test else math.nan,
               TRAIN_SECONDS: run.get("train_seconds", math.nan), RUN_SECONDS: run["seconds"]}
        # every group in every column, with no values where its runs logged none
        for column in columns(metric):
            kept = values[column].setdefault(group, [])
            if not math.isnan(row[column]):
                kept.append(row[column])
    return values


def summarize(tracking_uri: str, finished: list[dict], metric: str, by: str) -> dict[str, dict]:
    """{group: {"runs": n, column: spread}} over the FINISHED runs with a score, groups sorted by name: the
    mean and spread (sample sd) of the ranked metric, of its test counterpart (val/acc -> test/acc), of the
    seconds spent training (train/epoch_sec summed over epochs) and of the runs' wall seconds. Each run gets
    run["train_seconds"]."""
    for run in finished:
        run["train_seconds"] = train_seconds(tracking_uri, run["run_id"])
    values = group_values(finished, metric, by)
    return {name: {"runs": len(values[metric][name]), **{c: spread(values[c][name]) for c in columns(metric)}}
            for name in sorted(values[metric])}


def pretraining_runs(tracking_uri: str, finished: list[dict], by: str) -> list[dict]:
    """The runs the FINISHED runs were fine-tuned from (seqlab.pretrained_from), each with its train seconds
    and `used_by`: {group: how many runs started from it}, summed up apart from the groups: their time is paid
    once, not by each run of the table. Runs outside this store's reach are left out."""
    used_by: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for run in finished:
        source = run["tags"].get(PRETRAINED_FROM)
        if source:
            used_by[source][group_of(run, by)] += 1
    sources = run_records(tracking_uri, sorted(used_by))
    for source in sources:
        source["train_seconds"] = train_seconds(tracking_uri, source["run_id"])
        source["used_by"] = dict(sorted(used_by[source["run_id"]].items()))
    return sources


def cell(value: dict, digits: int) -> str:
    """mean ± sd, the mean alone for one value, empty for none."""
    if value["n"] == 0:
        return ""
    mean = f"{value['mean']:.{digits}f}"
    return mean if math.isnan(value["sd"]) else f"{mean} ± {value['sd']:.{digits}f}"


def digits_of(column: str) -> int:
    return 0 if column in (TRAIN_SECONDS, RUN_SECONDS) else 4


def rows(groups: dict[str, dict], metric: str) -> list[list[str]]:
    return [[name, str(group["runs"]), *(cell(group[c], digits_of(c)) for c in columns(metric))]
            for name, group in groups.items()]


def pretraining_line(source: dict) -> str:
    users = ", ".join(f"{group} ({n} run{'s' if n > 1 else ''})" for group, n in source["used_by"].items())
    training = "" if math.isnan(source["train_seconds"]) else f" ({source['train_seconds']:.0f} s training)"
    return (f"run `{source['run_id']}` ({source['name']}, experiment {source['experiment']}, "
            f"{source['status']}): {source['seconds']:.0f} s{training}, the start of {users}")


def markdown(groups: dict[str, dict], sources: list[dict], metric: str, by: str) -> list[str]:
    if not groups:
        return []
    header = [by, "runs", *columns(metric)]
    lines = [f"## Per {by}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows(groups, metric)]
    lines += ["", f"Mean ± sd over each {by}'s FINISHED runs: {metric} as ranked (a run's best when it "
                  f"optimized it), {TRAIN_SECONDS} the seconds in training batches (train/epoch_sec summed), "
                  f"{RUN_SECONDS} the whole run."]
    if sources:
        lines += ["", "Pretraining, apart from the table (paid once, not by each run):", ""]
        lines += [f"- {pretraining_line(source)}" for source in sources]
    return lines + [""]


def print_groups(groups: dict[str, dict], sources: list[dict], metric: str, by: str) -> None:
    # rich is imported only when a table is printed: `make compare` starts fast and a bad option fails at once
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"per {by}: mean ± sd")
    for header in [by, "runs", *columns(metric)]:
        table.add_column(header, justify="left" if header == by else "right", no_wrap=True)
    for row in rows(groups, metric):
        table.add_row(*row)
    console = Console()
    console.print(table)
    for source in sources:
        console.print(f"pretraining, apart: {pretraining_line(source)}")
