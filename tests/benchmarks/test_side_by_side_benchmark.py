"""The side-by-side machinery of the benchmarks: interleaved rounds, each side's median figures, seqlab's ratios to
each peer and the targets on them, on made-up records; a peer that is not installed is skipped, not a failure; and
the runner end to end on --quick (`make bench ARGS="--quick"`'s code path) with a fake peer, the Keras peer and
seqlab's own side on a tiny SST-2: the report's fields, the ratios' arithmetic, summary.md and the `bench-quick`
MLflow run."""

from __future__ import annotations

import json
import textwrap
import time

import pytest
from mlflow.tracking import MlflowClient

from seqlab.benchmarks import classification, side_by_side
from seqlab.benchmarks.side_by_side import SEQLAB, Case, Side, Target, compare, interleave, run_figures
from seqlab.errors import SeqlabError

from conftest import write_sst2_layout


def record(seconds: list[float], batches: list[int], launched: float = 100.0, **quality) -> dict:
    """A side's record: epochs of `batches` batches of 64 examples (10 tokens each) taking `seconds`."""
    epochs = [{"seconds": s, "batches": b, "examples": 64 * b, "tokens": 640 * b}
              for s, b in zip(seconds, batches, strict=True)]
    return {"epochs": epochs, "quality": quality, "first_step_at": launched + 5.0, "launched_at": launched,
            "peak_rss_mib": 300.0, "log": "/runs/x/output.log"}


def test_a_runs_figures_come_from_its_whole_epochs():
    figures = run_figures(record([4.0, 3.0, 5.0, 0.1], [10, 10, 10, 1], best_val_acc=0.8))
    # the cut fourth epoch (1 batch) is left out: median of 4, 3, 5; 1920 examples over 12 s
    assert figures == {"whole_epochs": 3, "epoch_sec": 4.0, "examples_per_sec": 160.0, "tokens_per_sec": 1600.0,
                       "peak_rss_mib": 300.0, "first_step_sec": 5.0, "best_val_acc": 0.8}
    assert run_figures({"epochs": [], "peak_rss_mib": 1.0})["epoch_sec"] is None


def test_sides_run_interleaved_and_a_skipped_side_runs_once():
    sides = [Side("floor", "m.floor"), Side("keras", "m.keras"), Side(SEQLAB, "m.seqlab")]
    order = []

    def run(side: Side, i: int) -> dict:
        order.append(f"{side.name}{i}")
        return {"skipped": "not installed"} if side.name == "keras" else {"round": i}

    records = interleave(sides, 2, run)
    assert order == ["floor1", "keras1", "seqlab1", "floor2", "seqlab2"]
    assert records == {"floor": [{"round": 1}, {"round": 2}], "keras": [{"skipped": "not installed"}],
                       SEQLAB: [{"round": 1}, {"round": 2}]}


def test_medians_ratios_and_targets_of_a_case():
    case = Case("lstm64", [], [Target("floor", "epoch_sec", 1.15), Target("keras", "epoch_sec", 0.5),
                               Target("floor", "examples_per_sec", 0.9, at_most=False),
                               Target(SEQLAB, "first_step_sec", 4.5)])
    records = {
        "floor": [record([2.0, 2.0], [10, 10], best_val_acc=0.80), record([3.0, 3.0], [10, 10], best_val_acc=0.82)],
        "keras": [{"skipped": "TensorFlow cannot be imported"}],
        SEQLAB: [record([2.4, 2.4], [10, 10], best_val_acc=0.81), record([2.8, 2.8], [10, 10], best_val_acc=0.81)],
    }
    report = compare(case, records)
    floor, seqlab = report["sides"]["floor"], report["sides"][SEQLAB]
    assert (floor["epoch_sec"], floor["best_val_acc"], floor["runs"]) == (2.5, 0.81, 2)  # medians of 2 and 3, ...
    # 1280 examples over 4.8 s and 5.6 s: median of 266.67 and 228.57; the floor's of 320 and 213.33
    assert (seqlab["epoch_sec"], seqlab["examples_per_sec"], floor["examples_per_sec"]) == (2.6, 247.62, 266.665)
    assert report["sides"]["keras"] == {"skipped": "TensorFlow cannot be imported"}
    assert report["ratios"] == {"floor": {"epoch_sec": 1.04, "examples_per_sec": 0.929, "tokens_per_sec": 0.929,
                                          "peak_rss_mib": 1.0, "first_step_sec": 1.0, "best_val_acc": 1.0}}
    assert report["targets"] == {
        "seqlab/floor epoch_sec": {"target": 1.15, "value": 1.04, "met": True},
        "seqlab/keras epoch_sec": {"target": 0.5, "value": None, "met": None,
                                   "skipped": "TensorFlow cannot be imported"},
        "seqlab/floor examples_per_sec": {"target": 0.9, "value": 0.929, "met": True},
        # seqlab's own figure, no peer's: 5 s from the command to its first step in each run
        "seqlab first_step_sec": {"target": 4.5, "value": 5.0, "met": False},
    }
    assert [len(runs) for runs in report["runs"].values()] == [2, 2]


def test_a_target_without_its_figure_names_the_side():
    case = Case("conv1d_32x3", [], [Target("floor", "epoch_sec", 1.15)])
    records = {"floor": [record([2.0], [10])], SEQLAB: [{"epochs": [], "peak_rss_mib": 1.0, "launched_at": 0.0}]}
    with pytest.raises(SeqlabError, match="conv1d_32x3: seqlab gave no epoch_sec"):
        compare(case, records)
    own = Case("conv1d_32x3", [], [Target(SEQLAB, "first_step_sec", 8.0)])  # seqlab's own figure, named once
    with pytest.raises(SeqlabError, match="conv1d_32x3: seqlab gave no first_step_sec, which the target seqlab "):
        compare(own, {SEQLAB: [{"epochs": [], "peak_rss_mib": 1.0}]})


def test_a_sides_peak_memory_is_its_own_not_the_suites(tmp_path):
    """A side started from a suite holding much memory reports its own peak (getrusage's would be the suite's)."""
    import subprocess
    import sys

    held = bytearray(300 * 2**20)
    held[:: 4096] = b"\1" * len(held[:: 4096])  # resident, not only reserved
    code = "from seqlab.benchmarks.side_by_side import peak_rss_mib; print(peak_rss_mib())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 0 < float(done.stdout) < 250 and side_by_side.peak_rss_mib() > 300
    del held


def test_a_failed_side_is_an_error_naming_it_and_its_log(tmp_path):
    (tmp_path / "failing_peer.py").write_text("print('loading')\nraise SystemExit('error: no data')\n")
    with pytest.raises(SeqlabError, match=r"lstm64-floor1 failed \(exit 1\): error: no data; its log: .*output.log"):
        side_by_side.in_process(tmp_path, "lstm64-floor1", "failing_peer", [])


def test_the_keras_peer_is_skipped_with_why_where_tensorflow_cannot_be_imported(tmp_path, monkeypatch):
    from seqlab.benchmarks.peers import keras_classification

    def no_tensorflow(threads):
        raise ModuleNotFoundError("No module named 'tensorflow'")

    monkeypatch.setattr(keras_classification, "import_keras", no_tensorflow)
    keras_classification.main(["--json", str(tmp_path / "out.json"), "--batches", "none.npz", "--minutes", "1"])
    assert json.loads((tmp_path / "out.json").read_text()) == {
        "skipped": "TensorFlow cannot be imported (No module named 'tensorflow'); pip install 'seqlab[peers]' "
                   "(tensorflow-cpu)"}


FAKE_PEER = """
    import argparse, json, time
    parser = argparse.ArgumentParser()
    parser.add_argument("--json")
    parser.add_argument("--minutes")
    parser.add_argument("rest", nargs="*")
    args = parser.parse_args()
    epochs = [{"seconds": 0.5, "batches": 4, "examples": 256, "tokens": 2560}] * 2
    json.dump({"epochs": epochs, "quality": {"best_val_acc": 0.5, "test_acc": 0.25}, "first_step_at": time.time(),
               "peak_rss_mib": 100.0}, open(args.json, "w"))
"""


@pytest.mark.slow  # two seqlab runs in processes of their own: a minute
def test_the_runner_end_to_end_on_quick_with_a_fake_peer(tmp_path, tracking_uri, monkeypatch):
    """classification's course-sized LSTM on --quick through run_suites: a fake peer (fixed figures), the Keras peer
    (skipped where TensorFlow is absent) and seqlab, 2 rounds each, on a tiny SST-2."""
    from seqlab.benchmarks.command import run_suites

    write_sst2_layout(tmp_path / "data" / "sst2", n_train=300, n_dev=40)
    (tmp_path / "fake_peer.py").write_text(textwrap.dedent(FAKE_PEER))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    monkeypatch.setattr(classification, "TARGETS", {})  # the preset runs are train_preset's, tested elsewhere
    monkeypatch.setattr(classification, "COURSE_SIZED", {"lstm64": classification.COURSE_SIZED["lstm64"]})
    monkeypatch.setitem(classification.PEERS, classification.FLOOR, "fake_peer")
    started = time.time()
    assert run_suites(tmp_path, ["classification"], 5.0, quick=True) == []

    report = json.loads((tmp_path / "outputs" / "bench" / "quick" / "classification.json").read_text())
    assert report["quick"] is True and report["side_by_side"]["epochs"] == classification.QUICK_EPOCHS
    case = report["cases"]["lstm64"]
    assert list(case["sides"]) == ["torch_loop", "keras", SEQLAB]
    floor, seqlab = case["sides"]["torch_loop"], case["sides"][SEQLAB]
    assert (floor["epoch_sec"], floor["examples_per_sec"], floor["runs"]) == (0.5, 512.0, 2)
    assert seqlab["runs"] == 2 and seqlab["epoch_sec"] > 0 and 0 < seqlab["first_step_sec"] < time.time() - started
    assert {"best_val_acc", "test_acc", "peak_rss_mib", "tokens_per_sec"} <= seqlab.keys()
    assert case["ratios"]["torch_loop"]["epoch_sec"] == round(seqlab["epoch_sec"] / 0.5, 3)
    assert case["ratios"]["torch_loop"]["test_acc"] == round(seqlab["test_acc"] / 0.25, 3)
    judged = case["targets"]["seqlab/torch_loop epoch_sec"]
    assert judged["met"] is (judged["value"] <= 1.15)
    own = case["targets"]["seqlab first_step_sec"]  # the LSTM preset's start-up, bounded by time, not by a peer
    assert (own["value"], own["target"], own["met"]) == (seqlab["first_step_sec"], 8.0, seqlab["first_step_sec"] <= 8)
    if "skipped" in case["sides"]["keras"]:  # TensorFlow absent here
        assert "pip install 'seqlab[peers]'" in case["sides"]["keras"]["skipped"]
        assert case["targets"]["seqlab/keras epoch_sec"]["met"] is None and "keras" not in case["ratios"]
    # each seqlab run: 2 whole epochs of debug=smoke's 256 rows at batch 64
    assert [run["whole_epochs"] for run in case["runs"][SEQLAB]] == [2, 2]

    summary = (tmp_path / "outputs" / "bench" / "quick" / "summary.md").read_text()
    assert "| classification | lstm64 | torch_loop | best_val_acc 0.5, test_acc 0.25 | 512 examples | 0.5 |" in summary
    row = f"| classification | lstm64: seqlab/torch_loop epoch_sec | {judged['value']:.4g} | 1.15 |"
    assert row in summary and "| classification | lstm64: seqlab/keras epoch_sec |" in summary

    client = MlflowClient(tracking_uri)
    [run] = client.search_runs([client.get_experiment_by_name("bench-quick").experiment_id],
                               "tags.suite = 'classification'")
    assert run.info.status == "FINISHED" and run.data.tags["git_commit"]
    assert run.data.metrics["cases/lstm64/ratios/torch_loop/epoch_sec"] == case["ratios"]["torch_loop"]["epoch_sec"]
    assert run.data.metrics["cases/lstm64/sides/torch_loop/epoch_sec"] == 0.5
