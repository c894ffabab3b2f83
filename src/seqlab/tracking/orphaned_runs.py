"""Runs whose process is gone: a run killed by SIGKILL (or by the end of its machine or container) cannot end
itself, and a later run on the same store ends it as KILLED instead of leaving it RUNNING forever."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

# on each run: the identity of the process writing it (host, boot, pid namespace, pid and the process's start
# time, so that a reused pid is not mistaken for it)
PROCESS_TAG = "process"
ENDED_BY_TAG = "ended_by"
ENDED_BY = "its process was gone (SIGKILL, a crash or the machine's end); marked by a later run"


def process_identity(pid: int | None = None) -> str | None:
    """host/boot id/pid namespace/pid/start time of process `pid` (this one by default); None where /proc
    cannot tell (not Linux), or for a process that does not run (none with that pid, or a zombie)."""
    pid = os.getpid() if pid is None else pid
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink("/proc/self/ns/pid").strip("pid:[]")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # proc(5) fields from the 3rd on: after the command's name
    if fields[0] == "Z":
        return None
    start_time = fields[19]  # field 22: when the process started, in clock ticks since boot
    return f"{socket.gethostname()}/{boot}/{namespace}/{pid}/{start_time}"


def process_tag() -> dict[str, str]:
    """{PROCESS_TAG: this process's identity}, or nothing where it cannot be told."""
    identity = process_identity()
    return {PROCESS_TAG: identity} if identity else {}


def is_gone(identity: str, here: str | None = None) -> bool:
    """True only when `identity` is a process of this host, boot and pid namespace that no longer runs; a
    process of another host or namespace cannot be checked from here and never counts as gone. `here`: this
    process's identity, when the caller has it already."""
    here = here or process_identity()
    parts = identity.split("/")
    if here is None or len(parts) != 5:
        return False
    host, boot, namespace, pid, _ = parts
    this_host, this_boot, this_namespace = here.split("/")[:3]
    if (host, namespace) != (this_host, this_namespace):
        return False
    if boot != this_boot:  # the machine restarted since: every process of that boot is gone
        return True
    return process_identity(int(pid)) != identity


def running_pid(identity: str) -> int | None:
    """The pid of `identity` when it is a process running now on this host (the same pid, started at the same
    time); else None."""
    parts = identity.split("/")
    if len(parts) != 5 or not parts[3].isdigit():
        return None
    return int(parts[3]) if process_identity(int(parts[3])) == identity else None


def end_orphaned_runs(client) -> list[str]:
    """Ends as KILLED every RUNNING run of this host whose process is gone, with a tag saying so; returns
    their ids. They resume like any killed run (`resume=<run_id>`)."""
    here = process_identity()
    if here is None:
        return []
    experiments = [e.experiment_id for e in client.search_experiments()]
    if not experiments:
        return []
    host = here.split("/")[0].replace("'", "")
    running = client.search_runs(
        experiments, f"attributes.status = 'RUNNING' and tags.{PROCESS_TAG} LIKE '{host}/%'", max_results=1000
    )
    ended = []
    for run in running:
        if is_gone(run.data.tags[PROCESS_TAG], here):
            client.set_tag(run.info.run_id, ENDED_BY_TAG, ENDED_BY)
            client.set_terminated(run.info.run_id, "KILLED")
            ended.append(run.info.run_id)
    if ended:
        print(f"note: {len(ended)} run(s) had stayed RUNNING after their process was gone and are now "
              f"KILLED: {', '.join(ended)}; continue one with resume=<run_id>", file=sys.stderr)
    return ended
