"""Calls to a remote tracking server that may go away in the middle of a run: training goes on, metrics and files
logged while training wait and are sent when the server answers again, and what could not be sent is reported at
the end (the files stay in the run folder). Local stores (SQLite) are called directly: their failures are real
errors."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

QUIET_SECONDS = 30  # after a failure, other calls are queued or skipped for this long instead of waiting again

# MLflow retries a failed HTTP call 7 times with exponential back-off (minutes); a run should not stall that long.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                 "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}


class Outbox:
    def __init__(self, tracking_uri: str, remote: bool):
        self.tracking_uri = tracking_uri
        self.remote = remote
        self.pending: list[tuple[Callable, dict, int | None]] = []  # metric batches not yet sent
        self.files: list[tuple[str, Callable[[], object]]] = []  # (what, upload) of files not yet sent
        self.unsent: list[str] = []
        self.failed_at: float | None = None
        if remote:
            for name, value in HTTP_DEFAULTS.items():
                os.environ.setdefault(name, value)

    def _quiet(self) -> bool:
        return self.failed_at is not None and time.monotonic() - self.failed_at < QUIET_SECONDS

    def _failed(self, err: Exception) -> None:
        if self.failed_at is None:
            print(f"warning: the MLflow server {self.tracking_uri} does not answer ({type(err).__name__}); "
                  "training goes on and metrics are kept to send later", file=sys.stderr)
        self.failed_at = time.monotonic()

    def send(self, what: str, call: Callable[[], object]) -> bool:
        """Runs call(); on a remote store a failure is recorded under `what` instead of ending the run."""
        if not self.remote:
            call()
            return True
        if self._quiet():
            self.unsent.append(what)
            return False
        try:
            call()
        except Exception as err:  # any transport or server error: the run matters more than its record
            self._failed(err)
            self.unsent.append(what)
            return False
        self.failed_at = None
        return True

    def send_metrics(self, send: Callable[[dict, int | None], object], metrics: dict, step: int | None) -> None:
        """Queues the batch, then sends every queued batch in order."""
        self.pending.append((send, metrics, step))
        self.retry()

    def send_file(self, what: str, upload: Callable[[], object]) -> None:
        """Queues a file upload, then sends everything queued, as send_metrics does."""
        self.files.append((what, upload))
        self.retry()

    def retry(self, force: bool = False) -> None:
        """Sends the queued metric batches, then the queued files, in order, stopping at the first failure."""
        if not self.remote:
            self.flush()
            return
        if self._quiet() and not force:
            return
        try:
            self.flush()
        except Exception as err:
            self._failed(err)
        else:
            self.failed_at = None

    def flush(self) -> None:
        while self.pending:
            send, metrics, step = self.pending[0]
            send(metrics, step)
            self.pending.pop(0)
        while self.files:
            self.files[0][1]()
            self.files.pop(0)

    def report(self, run_dir: str | None) -> None:
        if not (self.pending or self.files or self.unsent):
            return
        lines = [f"could not send to {self.tracking_uri}:"]
        if self.pending:
            steps = sorted({step for *_, step in self.pending if step is not None})
            lines.append(f"  {len(self.pending)} metric batch(es), steps {steps}")
        lines += [f"  {what}" for what, _ in self.files]
        lines += [f"  {what}" for what in self.unsent]
        if run_dir:
            lines.append(f"the run's files are in {run_dir}")
        print("\n".join(lines), file=sys.stderr)
