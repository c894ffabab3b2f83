"""The transfer report (make transfer-report): every family of conf/family/ trained over the seeds, from one
pretraining of the small BERT, and compared."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from seqlab.config.project import CONF_DIR, PIPELINES_DIR
from seqlab.errors import SeqlabError
from seqlab.reports.compare import compare
from seqlab.tracking.run_lookup import get_run, reading, run_in_folder, sweep_experiment, sweep_ids_since

TRAIN_SCRIPT = PIPELINES_DIR / "train.py"
FAMILY_DIR = CONF_DIR / "family"
FROM_PRETRAINING = ("bert_pretrained", "bert_scratch")  # the families that read transfer.pretraining_run


def families() -> list[str]:
    """The options of the `family` config group."""
    return sorted(path.stem for path in FAMILY_DIR.glob("*.yaml"))


@dataclass
class TransferReportOptions:
    families: list[str] = field(default_factory=families)  # which of conf/family/ to train
    seeds: list[int] = field(default_factory=lambda: [1, 2, 3])  # each family is trained once per seed
    # a FINISHED run of experiment=transfer_pretrain to start from; null: pretrain
    pretraining_run: str | None = None
    pretrain_overrides: list[str] = field(default_factory=list)  # more overrides of the pretraining run
    # more overrides of every family's run (after the preset)
    overrides: list[str] = field(default_factory=list)
    tracking_uri: str = field(
        default_factory=lambda: os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///outputs/mlflow.db"))
    output_dir: str = "outputs/reports"  # where compare writes the report and plots


def transfer_report_from_options(options: TransferReportOptions) -> dict:
    """The small BERT pretrained once as a masked language model (experiment=transfer_pretrain) unless a
    pretraining run is given, then every family over the seeds in one Hydra multirun of
    experiment=transfer_report, each run through pipelines/train.py exactly as a user runs it, then `make
    compare` over that multirun: mean and spread per family, and the pretraining's time apart."""
    unknown = sorted(set(options.families) - set(families()))
    if unknown or not options.families:
        said = f"no family {', '.join(unknown)}" if unknown else "families=[] trains nothing"
        raise SeqlabError(f"{said}; the families (conf/family/): {', '.join(families())}")
    if not options.seeds:
        raise SeqlabError("seeds=[] trains nothing; give one or more, e.g. seeds=[1,2,3]")
    # every run, and the lookups, in one store
    env = {**os.environ, "MLFLOW_TRACKING_URI": options.tracking_uri}
    source = options.pretraining_run
    if source:
        check_pretraining_run(options.tracking_uri, source)
    elif set(options.families) & set(FROM_PRETRAINING):
        source = pretrain(options, env)
    sweep, experiment = train_families(options, source, env)
    with reading(options.tracking_uri):
        result = compare(options.tracking_uri, experiment, Path(options.output_dir), sweep=sweep)
    print(f"again, or with more runs of the experiment: make compare ARGS='experiment={experiment}' "
          f"(this multirun only: sweep={sweep})")
    return {**result, "pretraining_run": source, "sweep": sweep, "experiment": experiment}


def check_pretraining_run(tracking_uri: str, run_id: str) -> None:
    status = get_run(tracking_uri, run_id, " to fine-tune from").info.status
    if status != "FINISHED":
        raise SeqlabError(f"pretraining_run={run_id} is {status}, not FINISHED: it logged no model to start "
                          "from; give a finished run of experiment=transfer_pretrain, or leave "
                          "pretraining_run out")


def run_train(args: list[str], env: dict) -> int:
    """pipelines/train.py with `args`, its output on this terminal; the exit status."""
    command = [sys.executable, str(TRAIN_SCRIPT), *args]
    print(f"$ {shlex.join(['python', 'pipelines/train.py', *args])}", flush=True)
    return subprocess.run(command, env=env, cwd=os.getcwd()).returncode


def pretrain(options: TransferReportOptions, env: dict) -> str:
    """Runs experiment=transfer_pretrain into a run folder of a unique name, by which its run is found; its
    run id."""
    folder = f"transfer-pretraining-{uuid.uuid4().hex[:8]}"
    status = run_train(["experiment=transfer_pretrain",
                        f"hydra.run.dir=${{paths.output_root}}/runs/${{now:%Y-%m-%d}}/{folder}",
                        *options.pretrain_overrides], env)
    if status != 0:
        raise SeqlabError(f"the pretraining stopped (exit status {status}); its output above says why. Fix "
                          "it through pretrain_overrides=[...], or give a finished run as "
                          "pretraining_run=<id>")
    with reading(options.tracking_uri):
        run = run_in_folder(options.tracking_uri, folder)
    if run is None or run["status"] != "FINISHED":
        raise SeqlabError(f"the pretraining logged no FINISHED run to {options.tracking_uri} (a logger other "
                          "than mlflow?): the families that start from it need its model")
    return run["run_id"]


def train_families(options: TransferReportOptions, source: str | None, env: dict) -> tuple[str, str]:
    """One multirun of experiment=transfer_report over families x seeds; (its sweep id, its MLflow
    experiment)."""
    started = time.time()
    from_source = [f"transfer.pretraining_run={source}"] if source else []
    status = run_train(["--multirun", "experiment=transfer_report", f"family={','.join(options.families)}",
                        f"seed={','.join(str(s) for s in options.seeds)}", *from_source, *options.overrides],
                       env)
    sweeps = []
    if status == 0:
        with reading(options.tracking_uri):
            sweeps = sweep_ids_since(options.tracking_uri, started)
    if status != 0 or len(sweeps) != 1:
        said = f"exit status {status}" if status else f"{len(sweeps)} multiruns started meanwhile, not one"
        raise SeqlabError(f"the families' multirun did not run as one ({said}); its output above says why")
    with reading(options.tracking_uri):
        return sweeps[0], sweep_experiment(options.tracking_uri, sweeps[0])
