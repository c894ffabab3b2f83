"""The benchmark suites' arithmetic on fake runs: which epochs are whole, what is judged (the held-out test figure,
not the validation value that chose the checkpoint), a missing figure named rather than read as 0, the KV-cache
speed-up only for equal tokens, the checkpoint's share of training, and the sweep a sweeps report reads."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from seqlab.benchmarks import checkpointing, classification, language_model, ner, sweeps
from seqlab.benchmarks.runner import epoch_batches, held_out, whole_epochs
from seqlab.errors import SeqlabError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def fake_trainer(monkeypatch, module, results: dict[str, dict]):
    """module.train_preset answering each case with results[name] (a run's figures as runner.train_preset gives
    them); the cases asked for, in order, are returned."""
    asked = []

    def train_preset(root, name, overrides, minutes, histories=()):
        asked.append((name, overrides))
        return {"preset": name, "overrides": overrides, "run_dir": f"/runs/{name}", **results[name]}

    monkeypatch.setattr(module, "train_preset", train_preset)
    return asked


def run_figures(value: float, optimized: str, **metrics: float) -> dict:
    return {"optimized_metric": optimized, "value": value, "wall_seconds": 60.0, "run_id": "r1", "status": "FINISHED",
            "metrics": metrics}


def epochs(seconds: list[float], batches: list[int]) -> dict:
    """A run's train/epoch_sec history as MLflow holds it: each epoch logged at the step of its last batch."""
    steps = [sum(batches[: i + 1]) - 1 for i in range(len(batches))]
    return {"history": {"train/epoch_sec": seconds}, "history_steps": {"train/epoch_sec": steps}}


# -- whole epochs ---------------------------------------------------------------------------------------------------
def test_an_epoch_cut_by_the_time_limit_is_not_whole():
    # steps as a 3-batch epoch logs them: 2, 5, then one batch of a third before max_time
    assert epoch_batches([2, 5, 6]) == [3, 3, 1]
    assert whole_epochs([0.025, 0.018, 0.003], [2, 5, 6]) == [0.025, 0.018]
    assert whole_epochs([0.025, 0.018, 0.017], [2, 5, 8]) == [0.025, 0.018, 0.017]
    assert whole_epochs([], []) == []


# -- classification -------------------------------------------------------------------------------------------------
def test_classification_judges_the_test_accuracy_and_times_whole_epochs(tmp_path, monkeypatch):
    results = {
        # dev says met (0.86 >= 0.85), the held-out rows do not
        "sentiment_lstm": run_figures(0.86, "val/acc", **{"test/acc": 0.84}),
        "sentiment_cnn": run_figures(0.82, "val/acc", **{"test/acc": 0.8312}),
        "sentiment_rnn": run_figures(0.83, "val/acc", **{"test/acc": 0.83}),
        # a fragment of a fourth epoch (2 batches, 0.2 s) is faster than any whole one
        "lstm64": {**run_figures(0.8, "val/acc"), **epochs([7.0, 6.0, 6.5, 0.2], [100, 100, 100, 2])},
        "conv1d_32x3": {**run_figures(0.8, "val/acc"), **epochs([3.0, 2.6, 2.4], [100, 100, 100])},
    }
    asked = fake_trainer(monkeypatch, classification, results)
    report = json.loads(classification.run(tmp_path, 10.0).read_text())
    assert [name for name, _ in asked] == [*classification.TARGETS, *classification.COURSE_SIZED]
    presets = report["presets"]
    assert {name: (p["best_val_acc"], p["test_acc"], p["met"]) for name, p in presets.items()} == {
        "sentiment_lstm": (0.86, 0.84, False), "sentiment_cnn": (0.82, 0.8312, True),
        "sentiment_rnn": (0.83, 0.83, True)}
    lstm, conv = report["epoch_time"]["lstm64"], report["epoch_time"]["conv1d_32x3"]
    assert (lstm["epoch_sec"], lstm["whole_epochs"], lstm["ratio_to_keras"], lstm["met"]) == (6.0, 3, 0.444, True)
    assert (conv["epoch_sec"], conv["whole_epochs"], conv["ratio_to_keras"], conv["met"]) == (2.4, 3, 0.48, True)


def test_classification_epoch_time_is_met_at_half_the_keras_time_or_less():
    assert classification.epoch_time("conv1d_32x3", epochs([2.6, 2.5, 2.7], [9, 9, 9]))["met"] is True
    slow = classification.epoch_time("conv1d_32x3", epochs([2.6, 2.51, 2.7], [9, 9, 9]))
    assert (slow["epoch_sec"], slow["ratio_to_keras"], slow["met"]) == (2.51, 0.502, False)


@pytest.mark.parametrize("run", [epochs([7.0, 6.0, 0.2], [100, 100, 2]), epochs([0.2], [2]), {}])
def test_classification_fails_a_case_with_fewer_whole_epochs_than_asked(run):
    with pytest.raises(SeqlabError, match=r"lstm64 trained [0-2] whole epochs of the 3 asked"):
        classification.epoch_time("lstm64", run)


def test_a_missing_test_figure_is_an_error_naming_the_case():
    with pytest.raises(SeqlabError, match=r"sentiment_cnn has no test/acc \(its run r1 for /runs/x\)"):
        held_out("sentiment_cnn", {**run_figures(0.9, "val/acc"), "run_dir": "/runs/x"}, "test/acc", 0.83)
    with pytest.raises(SeqlabError, match=r"sentiment_cnn has no test/acc \(no MLflow run found for /runs/x\)"):
        held_out("sentiment_cnn", {"optimized_metric": "val/acc", "value": 0.9, "run_dir": "/runs/x"}, "test/acc", 0.83)


# -- language model -------------------------------------------------------------------------------------------------
def test_language_model_judges_the_test_loss_and_sizes_epochs_to_the_budget(tmp_path, monkeypatch):
    results = {
        "textgen_rnn": run_figures(1.62, "val/loss", **{"test/loss": 1.59}),
        "gpt2_scratch": run_figures(1.50, "val/loss", **{"test/loss": 1.5501}),  # val says met, test does not
    }
    asked = fake_trainer(monkeypatch, language_model, results)
    monkeypatch.setattr(language_model, "training_speed",
                        lambda root, overrides: {"tokens_per_sec": 1000.0, "tokens_per_epoch": 60000})
    monkeypatch.setattr(language_model, "generation_speed", lambda model_dir: {"speedup": None})
    monkeypatch.setattr(language_model, "corpus_scaling", lambda root: {"met": True})
    report = json.loads(language_model.run(tmp_path, 15.0).read_text())
    # 15 min x 60 x 0.85 x 1000 tokens/s over 60000 tokens an epoch: 12.75 -> 12 epochs
    assert all("trainer.max_epochs=12" in overrides for _, overrides in asked)
    presets = report["presets"]
    assert {name: (p["best_val_loss"], p["test_loss"], p["met"], p["epochs"]) for name, p in presets.items()} == {
        "textgen_rnn": (1.62, 1.59, True, 12), "gpt2_scratch": (1.5, 1.5501, False, 12)}


@pytest.mark.parametrize("peak_x20, met", [(1081.0, False), (1080.0, True)])  # within 1.2x of 900
def test_corpus_scaling_trains_on_repeated_copies_and_judges_peak_memory(tmp_path, monkeypatch, peak_x20, met):
    source = tmp_path / "data" / "tinyshakespeare"
    source.mkdir(parents=True)
    (source / "input.txt").write_text("ROMEO:\nGood night.\n")
    asked = {}

    def in_process(root, case, command, suite):
        overrides = dict(arg.split("=", 1) for arg in command if "=" in arg)
        corpus = Path(overrides["dataset.data_dir"]) / "input.txt"
        asked[case] = (corpus.read_text(), overrides["dataset.cache_dir"])
        peak = {"x1": 900.0, "x20": peak_x20}[case]
        return {"status": "FINISHED", "value": 1.9, "peak_rss_mib": peak, "wall_seconds": 60.0, "log": "log",
                "history": {"train/epoch_sec": [10.0, 30.0], "train/tokens_per_sec": [1000.0, 2000.0]}}

    monkeypatch.setattr(language_model, "in_process", in_process)
    report = language_model.corpus_scaling(tmp_path)
    assert asked["x1"][0] == "ROMEO:\nGood night.\n" and asked["x20"][0] == "ROMEO:\nGood night.\n" * 20
    assert asked["x1"][1] != asked["x20"][1]  # a cache of its own: each case builds it
    assert report["cases"]["x20"]["tokens_per_sec"] == 1750.0  # pooled: 70000 tokens over 40 s
    assert report["cases"]["x20"]["corpus_bytes"] == 20 * len("ROMEO:\nGood night.\n")
    assert (report["peak_rss_ratio"], report["met"]) == (round(peak_x20 / 900.0, 3), met)


def test_the_kv_cache_speedup_is_reported_only_for_the_same_tokens():
    results = {"kv_cache": {"tokens_per_sec": 300.0}, "no_cache": {"tokens_per_sec": 120.0}}
    assert language_model.cache_speedup(results, same_tokens=True) == 2.5
    assert language_model.cache_speedup(results, same_tokens=False) is None


# -- NER ------------------------------------------------------------------------------------------------------------
def ner_metrics(f1: float, per_type: float) -> dict[str, float]:
    metrics = {"test/ents_f": f1, "test/ents_p": f1 + 0.1, "test/ents_r": f1 - 0.1}
    return {**metrics, **{f"{ner.PREFIX}{label}/f": per_type for label in ner.LABELS}}


def test_ner_judges_test_f1_and_the_fine_tuned_model_must_beat_the_blank_one(tmp_path, monkeypatch):
    results = {
        "ner_spacy": run_figures(0.3, "val/ents_f", **ner_metrics(0.41, 0.2)),
        "ner_spacy_finetune": run_figures(0.5, "val/ents_f", **ner_metrics(0.405, 0.3)),  # >= 0.40, not > 0.41
        "ner_finetune": run_figures(0.6, "val/ents_f", **ner_metrics(0.45, 0.4)),  # >= 0.45 and > 0.41
        "ner_pretrained_eval": run_figures(0.1, "val/ents_f", **ner_metrics(0.12346, 0.05)),
    }
    asked = fake_trainer(monkeypatch, ner, results)
    report = json.loads(ner.run(tmp_path, 20.0).read_text())
    presets = report["presets"]
    assert (presets["ner_spacy"]["test_f1"], presets["ner_spacy"]["met"]) == (0.41, True)
    tuned = presets["ner_spacy_finetune"]
    assert (tuned["test_f1"], tuned["beats_ner_spacy"], tuned["met"]) == (0.405, False, False)
    transformer = presets["ner_finetune"]
    assert (transformer["test_f1"], transformer["beats_ner_spacy"], transformer["met"]) == (0.45, True, True)
    limits = {name: [o for o in overrides if o.startswith("model.max_minutes")] for name, overrides in asked}
    assert limits == {"ner_spacy": ["model.max_minutes=20.0"], "ner_spacy_finetune": ["model.max_minutes=20.0"],
                      "ner_finetune": [], "ner_pretrained_eval": []}  # a Lightning task stops at trainer.max_time
    assert "met" not in presets["ner_pretrained_eval"]
    assert report["summary"]["ner_pretrained_eval"] == {"test_f1": 0.1235,
                                                        "per_label_f1": dict.fromkeys(ner.LABELS, 0.05)}
    assert presets["ner_spacy"]["test_precision"] == 0.51 and presets["ner_spacy"]["test_recall"] == 0.31


@pytest.mark.parametrize("missing", ["test/ents_f", f"{ner.PREFIX}creative-work/f"])
def test_ner_names_the_case_whose_figure_is_missing(tmp_path, monkeypatch, missing):
    results = {name: run_figures(0.5, "val/ents_f", **ner_metrics(0.5, 0.5)) for name in ner.TARGETS}
    del results["ner_spacy_finetune"]["metrics"][missing]
    results["ner_pretrained_eval"] = {"optimized_metric": "val/ents_f", "value": None}  # its run not found
    fake_trainer(monkeypatch, ner, results)
    with pytest.raises(SeqlabError, match=rf"ner_spacy_finetune has no {missing} \(its run r1 for "):
        ner.run(tmp_path, 20.0)
    results["ner_spacy_finetune"] = run_figures(0.5, "val/ents_f", **ner_metrics(0.5, 0.5))
    with pytest.raises(SeqlabError, match=r"ner_pretrained_eval has no test/ents_f \(no MLflow run found for "):
        ner.run(tmp_path, 20.0)


# -- checkpointing --------------------------------------------------------------------------------------------------
def test_checkpointing_share_counts_the_saves_inside_the_epoch_time():
    saves = [(50, 0.2), (100, 0.2), (150, 0.2), (200, 0.4)]  # the one at step 200 is made after the epoch's time
    figures = checkpointing.summarize("gpt2_scratch", saves, [10.6], default_every=500)
    # steps: (10.6 - 0.6) / 200 = 0.05 s; a checkpoint: 1.0 / 4 = 0.25 s, over 50 steps' 2.5 s and 500 steps' 25 s
    assert figures == {"checkpoints": 4, "seconds_per_checkpoint": 0.25, "seconds_per_step": 0.05,
                       "every_n_steps": 50, "share_of_training": 0.1, "share_at_default_interval_500": 0.01}


@pytest.mark.parametrize("saves, epoch_sec", [([(50, 0.2), (100, 0.2)], [5.0]), ([(50, 0.2), (200, 0.2)], [])])
def test_checkpointing_fails_a_case_that_did_not_train_its_steps(saves, epoch_sec):
    with pytest.raises(SeqlabError, match=r"sentiment_lstm did not train its one epoch of 200 steps"):
        checkpointing.summarize("sentiment_lstm", saves, epoch_sec, default_every=500)


# -- sweeps ---------------------------------------------------------------------------------------------------------
def test_the_sweeps_report_reads_the_sweep_its_launcher_started(tmp_path):
    from seqlab.tracking.run_lookup import sweep_ids_since

    uri = f"sqlite:///{tmp_path / 'sweeps.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("sst2-classification")
    started = time.time()
    for sweep_id, start in (("older", started - 3600), ("this", started + 1)):
        client.create_run(experiment, start_time=int(start * 1000), tags={"sweep_id": sweep_id, "sweep": "parent"})
    client.create_run(experiment, start_time=int(started * 1000) + 2, tags={"sweep_id": "this"})  # a trial
    assert sweep_ids_since(uri, started) == ["this"]
    assert sweeps.this_sweep(["this"], "basic") == "this"
    with pytest.raises(SeqlabError, match=r"basic launcher should have started one sweep in the store, and 2 started "
                                          r"meanwhile \(this, other\)"):
        sweeps.this_sweep(["this", "other"], "basic")
    with pytest.raises(SeqlabError, match=r"and 0 started meanwhile \(none\)"):
        sweeps.this_sweep([], "joblib_2")
