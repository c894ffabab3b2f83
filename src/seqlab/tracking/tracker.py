"""Trackers record a run: NullTracker (logger=none) records nothing, CsvTracker writes files in the run dir.

MlflowTracker (mlflow_tracker.py) has the same methods. A pipeline talks to whichever the config picked.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path


class NullTracker:
    run_id: str | None = None

    def start(self, experiment: str, run_name: str, params: dict, tags: dict, run_dir: str) -> None:
        self.run_dir = Path(run_dir)

    def lightning_logger(self):
        return None

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        pass

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        pass

    def log_params(self, params: dict[str, str]) -> None:
        pass

    def set_tags(self, tags: dict[str, str]) -> None:
        pass

    def log_model(self, model_dir: str | Path, kind: str) -> None:
        self.log_artifact(model_dir, "model")

    def end(self, status: str) -> None:
        pass


class CsvTracker(NullTracker):
    """Metrics through Lightning's CSVLogger; params, tags and artifacts as files under <run_dir>/csv."""

    def start(self, experiment: str, run_name: str, params: dict, tags: dict, run_dir: str) -> None:
        super().start(experiment, run_name, params, tags, run_dir)
        self.folder = self.run_dir / "csv"
        self.folder.mkdir(parents=True, exist_ok=True)
        meta = {"experiment": experiment, "run_name": run_name, "params": params, "tags": tags}
        (self.folder / "run.json").write_text(json.dumps(meta, indent=2))

    def lightning_logger(self):
        from lightning.pytorch.loggers import CSVLogger

        return CSVLogger(save_dir=str(self.folder), name="", version="")

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        target = self.folder / "artifacts" / (artifact_path or "")
        target.mkdir(parents=True, exist_ok=True)
        path = Path(path)
        if path.is_dir():
            shutil.copytree(path, target / path.name, dirs_exist_ok=True)
        else:
            shutil.copy2(path, target / path.name)

    def end(self, status: str) -> None:
        (self.folder / "status").write_text(status + "\n")
