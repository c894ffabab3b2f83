"""The trackers without a server: NullTracker (logger=none) and CsvTracker (logger=csv); MlflowTracker
(mlflow_tracker.py) has the same methods, and a pipeline talks to whichever the config picked."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from seqlab.tasks.outputs import ModelKind


class NullTracker:
    """Records nothing."""

    run_id: str | None = None
    has_registry = False  # whether register_model can register the run's model (MlflowTracker can)

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

    def log_model(self, model_dir: str | Path, kind: ModelKind, examples: list[str] | None = None) -> None:
        self.log_artifact(model_dir, "model")

    def register_model(self, name: str) -> None:
        """Registers the run's model under `name` (MlflowTracker)."""

    def log_datasets(self, splits: list) -> None:
        """The data splits the run read (seqlab.tracking.datasets.DataSplit)."""

    def record_fine_tuning(self, source_run_id: str) -> None:
        """Only an MLflow store holds the run fine-tuned from, to tag."""

    def end(self, status: str) -> None:
        pass


class CsvTracker(NullTracker):
    """Files under <run_dir>/csv: a Lightning task's metrics in metrics.csv (Lightning's CSVLogger), every
    metric logged outside it (a spaCy run's scores, the objective, data counts) in run_metrics.csv (step, key,
    value), params and tags in run.json, artifacts under artifacts/, the final status in status."""

    def start(self, experiment: str, run_name: str, params: dict, tags: dict, run_dir: str) -> None:
        super().start(experiment, run_name, params, tags, run_dir)
        self.folder = self.run_dir / "csv"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.meta = {"experiment": experiment, "run_name": run_name, "params": dict(params),
                     "tags": dict(tags)}
        self._write_meta()

    def _write_meta(self) -> None:
        (self.folder / "run.json").write_text(json.dumps(self.meta, indent=2))

    def log_params(self, params: dict[str, str]) -> None:
        self.meta["params"].update({k: str(v) for k, v in params.items()})
        self._write_meta()

    def set_tags(self, tags: dict[str, str]) -> None:
        self.meta["tags"].update({k: str(v) for k, v in tags.items()})
        self._write_meta()

    def log_datasets(self, splits: list) -> None:
        self.meta["datasets"] = [vars(split) | {"files": list(split.files)} for split in splits]
        self._write_meta()

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        path = self.folder / "run_metrics.csv"
        new = not path.is_file()
        with open(path, "a", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            if new:
                writer.writerow(["step", "key", "value"])
            writer.writerows([step or 0, key, float(value)] for key, value in metrics.items())

    def lightning_logger(self):
        # Lightning is imported only when a Lightning task asks for its logger (a spaCy run does not)
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
