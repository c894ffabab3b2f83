"""The course's Keras models as the classification benchmark's peer, on seqlab's batches of a tiny SST-2: every
epoch trains each of seqlab's batches once, in seqlab's order. Skipped, saying why, where TensorFlow is not installed
(the `peers` extra)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seqlab.benchmarks.classification import COMMON, COURSE_SIZED

from conftest import write_sst2_layout

pytest.importorskip("tensorflow", reason="TensorFlow is not installed: pip install 'seqlab[peers]'")


@pytest.mark.parametrize("case", ["lstm64", "conv1d_32x3"])
def test_the_keras_peer_trains_on_seqlabs_batches(tmp_path, monkeypatch, case):
    from seqlab.benchmarks.peers import keras_classification
    from seqlab.benchmarks.peers.batch_export import export_batches

    write_sst2_layout(tmp_path / "data" / "sst2", n_train=300, n_dev=40)
    monkeypatch.chdir(tmp_path)
    overrides = [*COURSE_SIZED[case], *COMMON, "debug=smoke", "trainer.max_epochs=2"]
    batches = export_batches(tmp_path, overrides, tmp_path / "batches.npz")
    with np.load(batches) as data:
        sizes = [data[f"sizes_{e}"].tolist() for e in range(2)]
        tests = len(data["test_labels"])
        assert data["ids"].shape[1] == 50 and sorted(data["order_0"]) == sorted(data["order_1"])
    out = tmp_path / "keras.json"
    keras_classification.main(["--json", str(out), "--batches", str(batches), "--minutes", "5", "--threads", "1"])
    record = json.loads(out.read_text())
    assert [e["batches"] for e in record["epochs"]] == [len(s) for s in sizes]
    assert [e["examples"] for e in record["epochs"]] == [sum(s) for s in sizes] == [256, 256]
    assert record["quality"]["best_val_acc"] == max(record["val_acc_per_epoch"])
    assert record["quality"]["test_acc"] in {round(i / tests, 4) for i in range(tests + 1)}
    assert record["first_step_at"] and record["peak_rss_mib"] > 0 and not record["stopped_by_budget"]
