"""Runs left RUNNING by a process that is gone (SIGKILL) are ended KILLED by a later run; live ones, and those of
other hosts, are left alone. The end-to-end case is in tests/training/test_resume.py."""

from __future__ import annotations

import subprocess
import sys

from mlflow.tracking import MlflowClient

from seqlab.tracking.mlflow_tracker import MlflowTracker
from seqlab.tracking.orphaned_runs import ENDED_BY, ENDED_BY_TAG, PROCESS_TAG, is_gone, process_identity


def gone_process() -> str:
    """The identity of a process that ran and exited."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    identity = process_identity(child.pid)
    child.kill()
    child.wait()
    return identity


def test_a_process_is_gone_only_once_it_has_exited():
    here = process_identity()
    assert here is not None and here == process_identity()  # stable while it runs
    assert not is_gone(here)
    assert is_gone(gone_process())


def test_other_hosts_namespaces_and_malformed_identities_never_count_as_gone():
    host, boot, namespace, pid, start = gone_process().split("/")
    assert not is_gone(f"elsewhere/{boot}/{namespace}/{pid}/{start}")
    assert not is_gone(f"{host}/{boot}/999999/{pid}/{start}")
    assert not is_gone("not-an-identity")


def test_a_reused_pid_is_not_the_run_process():
    host, boot, namespace, pid, start = process_identity().split("/")
    assert is_gone(f"{host}/{boot}/{namespace}/{pid}/{int(start) - 1}")  # this pid, another process's start
    assert is_gone(f"{host}/another-boot/{namespace}/{pid}/{start}")  # the machine restarted since


def test_a_new_run_ends_the_runs_whose_process_is_gone(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("orphans", artifact_location=(tmp_path / "art").as_uri())
    identities = {"gone": gone_process(), "alive": process_identity(),
                  "elsewhere": "elsewhere/" + gone_process().split("/", 1)[1]}
    ids = {name: client.create_run(experiment, tags={PROCESS_TAG: value}).info.run_id
           for name, value in identities.items()}
    untagged = client.create_run(experiment).info.run_id  # a run written before process tags existed

    tracker = MlflowTracker(uri, artifact_root=str(tmp_path / "art"))
    tracker.start("orphans", "new", {}, {}, str(tmp_path / "run"))

    status = {name: client.get_run(run_id).info.status for name, run_id in ids.items()}
    assert status == {"gone": "KILLED", "alive": "RUNNING", "elsewhere": "RUNNING"}
    assert client.get_run(ids["gone"]).data.tags[ENDED_BY_TAG] == ENDED_BY
    assert client.get_run(untagged).info.status == "RUNNING"
    new = client.get_run(tracker.run_id)
    assert new.info.status == "RUNNING" and new.data.tags[PROCESS_TAG] == process_identity()
    tracker.end("FINISHED")
