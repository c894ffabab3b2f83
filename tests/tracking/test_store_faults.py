"""The tracking store failing: unreachable at start (a clear message, or the local store with
logger.fallback_to_local=true), or gone in the middle of a run (training goes on and says what it could not send)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from mlflow.tracking import MlflowClient

from seqlab.commands.train import train
from seqlab.errors import SeqlabError

from conftest import ROOT, free_port, running_mlflow_server, write_sst2_layout


def test_an_unreachable_server_at_start_says_so(compose_cfg, sst2_dir):
    cfg = compose_cfg(["debug=smoke"])
    cfg.logger.tracking_uri = uri = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SeqlabError, match=rf"cannot reach the MLflow tracking store {uri} .*fallback_to_local=true"):
        train(cfg)


def test_the_local_store_takes_over_when_told(compose_cfg, sst2_dir, tmp_path, capsys):
    cfg = compose_cfg(["debug=smoke", "logger.fallback_to_local=true"])
    cfg.logger.tracking_uri = f"http://127.0.0.1:{free_port()}"
    train(cfg)
    local = f"sqlite:///{tmp_path}/outputs/mlflow.db"
    assert f"this run is logged to {local} instead" in capsys.readouterr().err
    client = MlflowClient(local)
    [run] = client.search_runs([client.get_experiment_by_name("sst2-classification").experiment_id])
    assert run.info.status == "FINISHED" and "val/acc" in run.data.metrics


def test_a_server_gone_mid_run_does_not_stop_training(tmp_path):
    write_sst2_layout(tmp_path / "data" / "sst2", n_train=600, n_dev=30)
    args = ["debug=smoke", "dataset.max_train_samples=null", "dataset.batch_size=8", "trainer.max_epochs=3",
            "callbacks.early_stopping=null", "model.net.embed_dim=16", "model.net.hidden_size=16"]
    with running_mlflow_server(tmp_path) as (url, server):
        env = {**os.environ, "MLFLOW_TRACKING_URI": url}
        process = subprocess.Popen([sys.executable, str(ROOT / "pipelines" / "train.py"), *args], cwd=tmp_path,
                                   env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        client = MlflowClient(url)
        deadline = time.time() + 240
        while time.time() < deadline and process.poll() is None:  # wait for the first epoch's metrics
            runs = [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]
            if runs and "val/acc" in runs[0].data.metrics:
                break
            time.sleep(0.5)
        server.terminate()
        server.wait(timeout=30)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    assert f"the MLflow server {url} does not answer" in err
    assert f"could not send to {url}:" in err and "metric batch(es)" in err and "status FINISHED" in err
    [run_dir] = (tmp_path / "outputs" / "runs").glob("*/*")
    assert (run_dir / "reports" / "predictions.csv").exists()  # nothing is lost: the files stay in the run folder
