"""Figures of run reports and of compare, drawn with matplotlib's file backend (no display needed)."""

from __future__ import annotations

import statistics
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def confusion_matrix_png(matrix, labels: list[str], path: str | Path,
                         title: str = "confusion matrix") -> Path:
    """Counts per (gold, predicted) pair, gold on rows."""
    counts = [[int(x) for x in row] for row in matrix]
    size = max(3.5, 0.6 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(counts, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title)
    peak = max((max(row) for row in counts), default=0)
    for i, row in enumerate(counts):
        for j, value in enumerate(row):
            color = "white" if value > peak / 2 else "black"
            ax.text(j, i, str(value), ha="center", va="center", color=color)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def spread_png(panels: dict[str, dict[str, list[float]]], path: str | Path, group: str = "model") -> Path:
    """One panel per metric ({metric: {group: values}}, e.g. dev and test accuracy), each group's values (one
    per seed) as points beside their mean and one standard deviation; the groups in the same order in every
    panel."""
    groups = sorted({name for by_group in panels.values() for name in by_group})
    width = max(4, 1.2 * len(groups) + 2)
    count = max(1, len(panels))
    fig, axes = plt.subplots(1, count, figsize=(width * count, 3.8), squeeze=False)
    for ax, (metric, by_group) in zip(axes.flat, panels.items(), strict=False):
        for x, name in enumerate(groups):
            values = by_group.get(name, [])
            if not values:
                continue
            ax.scatter([x] * len(values), values, alpha=0.6)
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            ax.errorbar([x + 0.15], [statistics.mean(values)], yerr=[sd], fmt="D", color="black", capsize=4)
        tilted = len(groups) > 4  # long names side by side would overlap
        ax.set_xticks(range(len(groups)), groups, rotation=30 if tilted else 0,
                      ha="right" if tilted else "center")
        ax.set_ylabel(metric)
        ax.set_title(f"{metric} per {group} (mean ± sd)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def curves_png(curves: dict[str, list[tuple[int, float]]], metric: str, path: str | Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, points in curves.items():
        if points:
            ax.plot([s for s, _ in points], [v for _, v in points], marker=".", label=name)
    ax.set_xlabel("step")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} per run")
    if curves:
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def scatter_png(points: list[tuple[str, float]], param: str, metric: str, path: str | Path) -> Path:
    """The metric against one swept param: numeric params on a numeric axis, others as categories."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    try:
        xs = [float(x) for x, _ in points]
    except (TypeError, ValueError):
        labels = sorted({str(x) for x, _ in points})
        xs = [labels.index(str(x)) for x, _ in points]
        ax.set_xticks(range(len(labels)), labels)
    ax.scatter(xs, [y for _, y in points])
    ax.set_xlabel(param)
    ax.set_ylabel(metric)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def attention_heatmap_png(weights, source_tokens: list[str], target_tokens: list[str], path: str | Path,
                          title: str = "", axes: tuple[str, str] = ("source", "translation")) -> Path:
    """A translation's attention weights [target tokens, source tokens]: source along x, target down y (or any
    attention's [queries, keys], with the axes named by `axes`: x, then y)."""
    size = (max(4.0, 0.4 * len(source_tokens) + 2), max(3.0, 0.35 * len(target_tokens) + 1.5))
    fig, ax = plt.subplots(figsize=size)
    image = _attention_image(ax, weights, source_tokens, target_tokens)
    ax.set_xlabel(axes[0])
    ax.set_ylabel(axes[1])
    ax.set_title(title[:90], fontsize=8)
    fig.colorbar(image, ax=ax, fraction=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def self_attention_heads_png(heads, tokens: list[str], path: str | Path, title: str = "") -> Path:
    """One layer's self-attention weights [heads, tokens, tokens]: a heatmap per head, four heads to a row,
    the keys (attended to) along x and the queries (attending) down y."""
    columns = min(4, len(heads))
    rows = -(-len(heads) // columns)
    side = max(2.5, 0.18 * len(tokens) + 1.5)
    fig, axes = plt.subplots(rows, columns, figsize=(side * columns + 1, side * rows + 0.5), squeeze=False,
                             layout="constrained")
    for ax in axes.flat[len(heads):]:
        ax.axis("off")
    for number, (ax, weights) in enumerate(zip(axes.flat, heads, strict=False), start=1):
        image = _attention_image(ax, weights, tokens, tokens)
        ax.set_title(f"head {number}", fontsize=8)
    fig.suptitle(title[:90], fontsize=9)
    fig.supxlabel("attended to (keys)", fontsize=8)
    fig.supylabel("attending (queries)", fontsize=8)
    fig.colorbar(image, ax=axes, fraction=0.02)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def _attention_image(ax, weights, x_tokens: list[str], y_tokens: list[str]):
    """Weights in [0, 1] as a heatmap on `ax`, a token at each tick."""
    rows = [[float(x) for x in row] for row in weights]
    image = ax.imshow(rows, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(x_tokens)), x_tokens, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(y_tokens)), y_tokens, fontsize=8)
    return image
