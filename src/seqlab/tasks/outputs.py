"""RunOutputs: what a finished task hands to tracking (its report files and exported model)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class RunOutputs:
    reports: Path | None = None          # a folder of report files (plots, CSV, samples), logged as reports/
    model_dir: Path | None = None        # an exported model folder
    model_kind: str | None = None        # how tracking logs model_dir: "text_classifier" (pyfunc), ...
    extra: dict[str, Path] = field(default_factory=dict)  # artifact path -> file or folder
    examples: list[str] = field(default_factory=list)  # a few inputs: the logged model's input example
