"""`make ui` shows the store the runs go to, and the local one when that store is a tracking server."""

from __future__ import annotations

import os
import subprocess

import pytest

from conftest import ROOT


@pytest.mark.parametrize("tracking_uri, store, said", [
    (None, "sqlite:///outputs/mlflow.db", ""),
    ("sqlite:////srv/runs/mlflow.db", "sqlite:////srv/runs/mlflow.db", ""),
    ("http://127.0.0.1:5000", "sqlite:///outputs/mlflow.db", "is a tracking server: its UI is at that address"),
])
def test_make_ui_opens_the_runs_store(tracking_uri, store, said):
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    if tracking_uri:
        env["MLFLOW_TRACKING_URI"] = tracking_uri
    # PY=echo prints the command the target would run
    done = subprocess.run(["make", "-s", "ui", "PY=echo", "PORT=5123"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    command = done.stdout.strip().splitlines()[-1]
    assert f"--backend-store-uri {store} " in command and command.endswith("--host 127.0.0.1 --port 5123")
    assert said in done.stdout if said else "tracking server" not in done.stdout
