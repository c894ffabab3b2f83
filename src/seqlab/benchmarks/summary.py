"""The summary of the suites' JSON reports in one folder: tables printed with rich and written as markdown."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from seqlab.benchmarks import SUITES

# every side-by-side case: each side's quality, speed, seconds per epoch, peak memory and seconds to the first
# optimizer step (a skipped peer and why)
SIDE_COLUMNS = ["suite", "case", "side", "quality", "per second", "s/epoch", "peak MiB", "first step s",
                "other"]
RATIO_COLUMNS = ["suite", "case", "seqlab over", "s/epoch", "per second", "peak MiB", "first step s",
                 "quality"]  # seqlab's figures over each peer's
TARGET_COLUMNS = ["suite", "target", "value", "bound", "met"]  # every target, and whether it was met
RATES = (("examples_per_sec", "examples"), ("tokens_per_sec", "tokens"))
SHOWN = {"epoch_sec", "examples_per_sec", "tokens_per_sec", "peak_rss_mib", "first_step_sec", "runs",
         "skipped"}


def load_reports(folder: Path) -> list[dict]:
    """The suites' reports in the folder, in the order of SUITES."""
    order = list(SUITES)
    reports = [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]
    reports = [r for r in reports if r.get("suite") in SUITES]
    return sorted(reports, key=lambda r: order.index(r["suite"]))


def shown(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def is_quality(key: str) -> bool:
    return key.startswith(("best_", "test_"))


def rate(figures: dict) -> str:
    for key, unit in RATES:
        if figures.get(key) is not None:
            return f"{shown(figures[key])} {unit}"
    return "-"


def side_rows(reports: list[dict]) -> list[list[str]]:
    rows = []
    for report in reports:
        for case, found in report.get("cases", {}).items():
            for side, figures in found.get("sides", {}).items():
                if "skipped" in figures:
                    rows.append([report["suite"], case, side, f"skipped: {figures['skipped']}", *["-"] * 5])
                    continue
                quality = ", ".join(f"{k} {shown(v)}" for k, v in figures.items() if is_quality(k))
                other = ", ".join(f"{k} {shown(v)}" for k, v in figures.items()
                                  if k not in SHOWN and not is_quality(k) and k != "tokens_sha1")
                rows.append([report["suite"], case, side, quality or "-", rate(figures),
                             shown(figures.get("epoch_sec")), shown(figures.get("peak_rss_mib")),
                             shown(figures.get("first_step_sec")), other or "-"])
    return rows


def ratio_rows(reports: list[dict]) -> list[list[str]]:
    rows = []
    for report in reports:
        for case, found in report.get("cases", {}).items():
            for peer, ratios in found.get("ratios", {}).items():
                speed = next((ratios[k] for k, _ in RATES if k in ratios), None)
                quality = ", ".join(f"{k} {shown(v)}" for k, v in ratios.items() if is_quality(k))
                other = [f"{k} {shown(v)}" for k, v in ratios.items() if k not in SHOWN and not is_quality(k)]
                rows.append([report["suite"], case, peer, shown(ratios.get("epoch_sec")), shown(speed),
                             shown(ratios.get("peak_rss_mib")), shown(ratios.get("first_step_sec")),
                             ", ".join([quality, *other]).strip(", ") or "-"])
    return rows


def target_rows(reports: list[dict]) -> list[list[str]]:
    """Every target a report judged: its top-level targets, its presets' and its cases'."""
    rows = []
    for report in reports:
        suite = report["suite"]
        judged = dict(report.get("targets", {}))
        for name, preset in report.get("presets", {}).items():
            if "target" in preset and "met" in preset:
                value = next((v for k, v in preset.items()
                              if k.startswith("test_") and not isinstance(v, dict)), None)
                judged[name] = {"target": preset["target"], "value": value, "met": preset["met"]}
        for case, found in report.get("cases", {}).items():
            judged.update({f"{case}: {name}": t for name, t in found.get("targets", {}).items()})
        for name, target in judged.items():
            met = "skipped" if target.get("skipped") else shown(target.get("met"))
            rows.append([suite, name, shown(target.get("value")), shown(target.get("target")), met])
    return rows


def markdown_table(columns: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def tables(reports: list[dict]) -> list[tuple[str, list[str], list[list[str]]]]:
    return [("Side by side (median of each side's runs)", SIDE_COLUMNS, side_rows(reports)),
            ("seqlab's figures over each peer's", RATIO_COLUMNS, ratio_rows(reports)),
            ("Targets", TARGET_COLUMNS, target_rows(reports))]


def write_summary(folder: Path, console=None) -> Path:
    """Prints the summary of the reports in `folder` (outputs/bench/, or outputs/bench/quick/) and writes it
    to <folder>/summary.md."""
    reports = load_reports(folder)
    console = console or Console()
    heading = [f"- {r['suite']}: {r.get('date')}, commit {r.get('git_commit')}"
               f"{' (--quick: checks the machinery, not figures)' if r.get('quick') else ''}"
               for r in reports]
    parts = ["# Benchmark summary", "", *heading]
    for title, columns, rows in tables(reports):
        parts += ["", f"## {title}", "", markdown_table(columns, rows) if rows else "none"]
        table = Table(*columns, title=title)
        for row in rows:
            table.add_row(*row)
        console.print(table)
    folder.mkdir(parents=True, exist_ok=True)  # no suite may have written its report there yet
    path = folder / "summary.md"
    path.write_text("\n".join(parts) + "\n")
    return path
