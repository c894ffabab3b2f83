"""A grid sweep on a Ray cluster started here (`ray start --head` on 127.0.0.1, 2 CPUs) against a real
`mlflow server`: 4 trials, each run by a Ray worker, nested under one parent run."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from importlib.util import find_spec
from pathlib import Path

import pytest
from test_sweeps import assert_nested_and_best_recorded, sweep, sweep_runs

from conftest import free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        find_spec("ray") is None or find_spec("hydra_plugins.hydra_ray_launcher") is None,
        reason="ray or hydra-ray-launcher is not installed: `make install` installs both (the dev extra)",
    ),
]


@pytest.fixture
def ray_head(monkeypatch):
    """host:port of a Ray head node on 127.0.0.1 with 2 CPUs and no dashboard, which the sweep joins with the
    cluster's own token (whatever ~/.ray/auth_token holds). Its processes (and the workers they start) live in a
    process group of their own, killed whole at the end, pass or fail: no Ray process outlives the test, and a Ray
    cluster of anyone else on this machine is left alone (`ray stop` would stop it too)."""
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    monkeypatch.setenv("RAY_AUTH_TOKEN", secrets.token_hex(32))
    port = free_port()
    temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must fit in 107 characters
    command = [
        str(Path(sys.executable).with_name("ray")), "start", "--head", "--node-ip-address=127.0.0.1",
        f"--port={port}", "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
        f"--ray-client-server-port={free_port()}", f"--dashboard-port={free_port()}",
        f"--dashboard-agent-listen-port={free_port()}", f"--temp-dir={temp_dir}",
    ]
    # workers start in the folder of `ray start`: the sweep names its root folder instead, as on a real cluster
    started = subprocess.Popen(command, cwd=temp_dir, start_new_session=True, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = started.communicate(timeout=180)
        assert started.returncode == 0, output[-4000:]
        yield f"127.0.0.1:{port}"
    finally:
        started.kill()
        try:
            os.killpg(started.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_a_grid_sweep_on_a_ray_cluster_runs_each_trial_in_a_ray_worker(tmp_path, mlflow_server, ray_head):
    args = ["hydra/launcher=ray", f"hydra.launcher.ray.init.address={ray_head}", "hydra.launcher.ray.remote.num_cpus=1",
            f"paths.root_dir={tmp_path}", "model=lstm,cnn", "seed=1,2"]
    sweep(tmp_path, args, mlflow_server)
    parent, trials = sweep_runs(mlflow_server, tmp_path)
    assert_nested_and_best_recorded(parent, trials, 4, ["model", "seed"])
    assert parent.data.params["sweep.launcher"] == "RayLauncher"
    tags = [t.data.tags for t in trials]
    assert len({t["ray.task_id"] for t in tags}) == 4  # each trial a Ray task of its own
    assert len({t["ray.node_id"] for t in tags}) == 1  # on the one node of the cluster
    launcher_pid = parent.data.tags["process"].split("/")[3]
    assert launcher_pid not in {t["process"].split("/")[3] for t in tags}  # in Ray's worker processes
