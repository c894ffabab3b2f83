"""A team's tracking server on a real PostgreSQL (`make server BACKEND=postgresql://...`): a sweep of 2 parallel
trials logs every run and metric to it. Needs PostgreSQL's server binaries (Debian: apt-get install postgresql)."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from test_sweeps import GRID, assert_nested_and_best_recorded, sweep, sweep_runs

from conftest import free_port, running_mlflow_server


def postgres_bin() -> Path | None:
    """The folder of initdb and pg_ctl: on PATH, or where Debian installs them."""
    found = shutil.which("initdb") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[::-1]), None)
    return Path(found).resolve().parent if found else None  # initdb on PATH may be a link to where the rest is


def server_user() -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` user."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no `postgres` user to run PostgreSQL as")
    return ["runuser", "-u", "postgres", "--"]


@contextlib.contextmanager
def running_postgres():
    """A throwaway PostgreSQL cluster on a free 127.0.0.1 port: yields its SQLAlchemy URI. Its folder is not under
    pytest's (which only root may enter) and is removed at the end."""
    binaries, user = postgres_bin(), server_user()
    folder = Path(tempfile.mkdtemp(prefix="seqlab-postgres-"))
    if user:
        shutil.chown(folder, "postgres")
    data, port = folder / "cluster", free_port()
    run = lambda *args: subprocess.run([*user, *args], check=True, capture_output=True, text=True, timeout=120)  # noqa: E731
    run(str(binaries / "initdb"), "-D", str(data), "-U", "seqlab", "--auth=trust")
    run(str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w", "start",
        "-o", f"-p {port} -c listen_addresses=127.0.0.1 -k {folder}")
    try:
        run(str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "seqlab", "mlflow")
        yield f"postgresql://seqlab@127.0.0.1:{port}/mlflow"
    finally:
        run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.skipif(postgres_bin() is None, reason="PostgreSQL's server binaries (initdb, pg_ctl) are not installed: "
                                                   "apt-get install postgresql")
def test_a_parallel_sweep_lands_every_run_on_a_server_backed_by_postgresql(tmp_path):
    (tmp_path / "server").mkdir()
    with running_postgres() as backend, running_mlflow_server(tmp_path / "server", backend) as (url, _):
        sweep(tmp_path / "work", GRID[:1] + GRID[2:], url)  # model=lstm,cnn with 2 joblib jobs
        parent, trials = sweep_runs(url, tmp_path / "work")
        assert_nested_and_best_recorded(parent, trials, 2, ["model"])
        for trial in trials:  # every epoch's figures and the test figures landed
            assert {"train/loss", "val/acc", "test/acc", "objective"} <= set(trial.data.metrics)
