"""Calls to a remote tracking server that may go away in the middle of a run: training goes on and what it
logs is sent when the server answers again."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

# after a failure, other calls are queued or skipped for this long instead of waiting again
QUIET_SECONDS = 30

# MLflow retries a failed HTTP call 7 times with exponential back-off (minutes); a run should not stall that
# long.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                 "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}


METRICS = "metric batch"  # what a queued batch of metrics is called


def apply_http_defaults() -> None:
    """HTTP_DEFAULTS for this process's MLflow client, where the environment does not set them already."""
    for name, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)


class Outbox:
    """Everything logged (metrics, params, tags, files, the final status) waits in one queue, in order, and is
    sent when the server answers again; what could still not be sent at the end is reported (the files stay in
    the run folder). Local stores (SQLite) are called directly: their failures are real errors."""

    def __init__(self, tracking_uri: str, remote: bool):
        self.tracking_uri = tracking_uri
        self.remote = remote
        # (what, call, step), in logged order
        self.queue: list[tuple[str, Callable[[], object], int | None]] = []
        self.failed_at: float | None = None
        if remote:
            apply_http_defaults()

    def _quiet(self) -> bool:
        return self.failed_at is not None and time.monotonic() - self.failed_at < QUIET_SECONDS

    def _failed(self, err: Exception) -> None:
        if self.failed_at is None:
            print(f"warning: the MLflow server {self.tracking_uri} does not answer ({type(err).__name__}); "
                  "training goes on and what it logs is kept to send later", file=sys.stderr)
        self.failed_at = time.monotonic()

    def send(self, what: str, call: Callable[[], object], step: int | None = None) -> None:
        """Runs call() on a local store; on a remote one queues it under `what`, then sends everything queued,
        in order: a call the server does not take waits for the next try instead of ending the run."""
        if not self.remote:
            call()
            return
        self.queue.append((what, call, step))
        self.retry()

    def send_metrics(self, send: Callable[[dict, int | None], object], metrics: dict,
                     step: int | None) -> None:
        self.send(METRICS, lambda: send(metrics, step), step)

    def retry(self, force: bool = False) -> None:
        """Sends what is queued, in order, stopping at the first failure; within QUIET_SECONDS of a failure
        only when forced (at the end of a run)."""
        if not self.queue or self._quiet() and not force:
            return
        try:
            while self.queue:
                self.queue[0][1]()
                self.queue.pop(0)
        except Exception as err:  # any transport or server error: the run matters more than its record
            self._failed(err)
        else:
            self.failed_at = None

    def report(self, run_dir: str | None) -> None:
        if not self.queue:
            return
        lines = [f"could not send to {self.tracking_uri}:"]
        batches = [step for what, _, step in self.queue if what == METRICS]
        if batches:
            steps = sorted({step for step in batches if step is not None})
            lines.append(f"  {len(batches)} metric batch(es), steps {steps}")
        lines += [f"  {what}" for what, _, _ in self.queue if what != METRICS]
        if run_dir:
            lines.append(f"the run's files are in {run_dir}")
        print("\n".join(lines), file=sys.stderr)
