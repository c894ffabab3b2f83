"""The benchmark suites' arithmetic on fake runs: which epochs are whole, what is judged (the held-out test figure,
not the validation value that chose the checkpoint), a missing figure named rather than read as 0, which sides each
side-by-side case runs with which settings and targets, the KV-cache speed-up only for equal tokens, the
checkpoint's share of training, and the sweep a sweeps report reads."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from seqlab.benchmarks import checkpointing, classification, generation_speed, language_model, ner, sweeps
from seqlab.benchmarks.runner import epoch_batches, held_out
from seqlab.benchmarks.side_by_side import whole_epochs
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


# -- whole epochs ---------------------------------------------------------------------------------------------------
def test_an_epoch_cut_by_the_time_limit_is_not_whole():
    # steps as a 3-batch epoch logs them: 2, 5, then one batch of a third before max_time
    assert epoch_batches([2, 5, 6]) == [3, 3, 1]
    epochs = [{"seconds": s, "batches": b} for s, b in ((0.025, 3), (0.018, 3), (0.003, 1))]
    assert whole_epochs(epochs) == epochs[:2]
    assert whole_epochs(epochs[:2]) == epochs[:2]
    assert whole_epochs([]) == []


# -- classification -------------------------------------------------------------------------------------------------
def test_classification_judges_the_test_accuracy_and_runs_each_course_case_side_by_side(tmp_path, monkeypatch):
    results = {
        # dev says met (0.86 >= 0.85), the held-out rows do not
        "sentiment_lstm": run_figures(0.86, "val/acc", **{"test/acc": 0.84}),
        "sentiment_cnn": run_figures(0.82, "val/acc", **{"test/acc": 0.8312}),
        "sentiment_rnn": run_figures(0.83, "val/acc", **{"test/acc": 0.83}),
    }
    asked = fake_trainer(monkeypatch, classification, results)
    exported, cases = [], []
    monkeypatch.setattr(classification, "export_batches",
                        lambda root, overrides, path: exported.append(overrides) or path)
    monkeypatch.setattr(classification, "run_case", lambda root, case: cases.append(case) or {"case": case.name})
    report = json.loads(classification.run(tmp_path, 10.0).read_text())
    assert [name for name, _ in asked] == list(classification.TARGETS)
    presets = report["presets"]
    assert {name: (p["best_val_acc"], p["test_acc"], p["met"]) for name, p in presets.items()} == {
        "sentiment_lstm": (0.86, 0.84, False), "sentiment_cnn": (0.82, 0.8312, True),
        "sentiment_rnn": (0.83, 0.83, True)}
    assert report["cases"] == {name: {"case": name} for name in classification.COURSE_SIZED}
    lstm = cases[0]
    assert [side.name for side in lstm.sides] == ["torch_loop", "keras", "seqlab"]  # the peers first in each round
    floor, keras, seqlab = (side.args for side in lstm.sides)
    overrides = [*classification.COURSE_SIZED["lstm64"], *classification.COMMON, "trainer.max_epochs=3"]
    assert exported[0] == overrides and floor == ("--minutes", "10.0", *overrides)
    assert keras == ("--minutes", "10.0", "--batches", f"{tmp_path}/outputs/bench/runs/lstm64-batches.npz")
    assert seqlab == ("--name", "lstm64", "--minutes", "10.0", "--quality", "test/acc", *overrides)
    assert [(t.name, t.bound) for t in lstm.targets] == [("seqlab/torch_loop epoch_sec", 1.15),
                                                         ("seqlab/keras epoch_sec", 0.5),
                                                         ("seqlab first_step_sec", 8.0)]
    assert [t.name for t in cases[2].targets] == []  # the GRU: ratios, no target


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
    cases = []
    monkeypatch.setattr(language_model, "generation_case", lambda model_dir, quick: (model_dir, quick))
    monkeypatch.setattr(language_model, "generation_case_report", lambda root, case: {"generation": str(case[0])})
    monkeypatch.setattr(language_model, "run_case", lambda root, case: cases.append(case) or {"case": case.name})
    monkeypatch.setattr(language_model, "corpus_scaling", lambda root, quick: {"met": True})
    report = json.loads(language_model.run(tmp_path, 15.0).read_text())
    # 15 min x 60 x 0.85 x 1000 tokens/s over 60000 tokens an epoch: 12.75 -> 12 epochs
    assert all("trainer.max_epochs=12" in overrides for _, overrides in asked)
    presets = report["presets"]
    assert {name: (p["best_val_loss"], p["test_loss"], p["met"], p["epochs"]) for name, p in presets.items()} == {
        "textgen_rnn": (1.62, 1.59, True, 12), "gpt2_scratch": (1.5, 1.5501, False, 12)}
    assert report["cases"] == {"gpt2_scratch": {"case": "gpt2_scratch"},
                               "gpt2_generation": {"generation": "/runs/gpt2_scratch/model"}}
    [training] = cases
    assert [side.name for side in training.sides] == ["torch_loop", "seqlab"]
    assert training.sides[0].args[2:] == training.sides[1].args[6:] == tuple(language_model.SIDE_BY_SIDE)
    assert training.sides[1].args[:6] == ("--name", "gpt2_scratch-side-by-side", "--minutes", "15.0", "--quality",
                                          "test/loss")
    assert [(t.name, t.bound, t.at_most) for t in training.targets] == [("seqlab/torch_loop epoch_sec", 1.15, True)]


def test_quick_trains_two_epochs_of_each_preset_without_sizing_them_to_the_budget(tmp_path, monkeypatch):
    results = {name: run_figures(1.9, "val/loss", **{"test/loss": 1.9}) for name in language_model.TARGETS}
    asked = fake_trainer(monkeypatch, language_model, results)
    monkeypatch.setattr(language_model, "training_speed", lambda root, overrides: pytest.fail("calibrated"))
    monkeypatch.setattr(language_model, "generation_case", lambda model_dir, quick: (model_dir, quick))
    monkeypatch.setattr(language_model, "generation_case_report", lambda root, case: {})
    monkeypatch.setattr(language_model, "run_case", lambda root, case: {})
    scaled = []
    monkeypatch.setattr(language_model, "corpus_scaling", lambda root, quick: scaled.append(quick) or {})
    language_model.run(tmp_path, None, quick=True)
    assert [o[-2:] for _, o in asked] == [["debug=smoke", "trainer.max_epochs=2"]] * 2 and scaled == [True]


def test_generation_is_timed_by_both_tools_on_the_same_model_and_lengths(tmp_path, monkeypatch):
    (tmp_path / "config.json").write_text(json.dumps({"n_positions": 128}))
    case = language_model.generation_case(tmp_path, quick=False)
    assert [side.name for side in case.sides] == ["transformers", "seqlab"]
    assert case.sides[0].args == case.sides[1].args == ("--model", str(tmp_path), "--new-tokens", "122",
                                                        "--repeats", "3")  # 128 positions less "ROMEO:"
    [target] = case.targets
    assert (target.name, target.bound, target.at_most) == ("seqlab/transformers kv_cache_speedup", 1.0, False)
    sides = {"transformers": {"tokens_sha1": "a"}, "seqlab": {"tokens_sha1": "a"}}
    monkeypatch.setattr(language_model, "run_case", lambda root, case: {"sides": sides})
    assert language_model.generation_case_report(tmp_path, case)["same_tokens_as_transformers"] is True
    sides["seqlab"]["tokens_sha1"] = "b"
    assert language_model.generation_case_report(tmp_path, case)["same_tokens_as_transformers"] is False


@pytest.mark.parametrize("peak_x20, met", [(1081.0, False), (1080.0, True)])  # within 1.2x of 900
def test_corpus_scaling_trains_on_repeated_copies_and_judges_peak_memory(tmp_path, monkeypatch, peak_x20, met):
    source = tmp_path / "data" / "tinyshakespeare"
    source.mkdir(parents=True)
    (source / "input.txt").write_text("ROMEO:\nGood night.\n")
    asked = {}

    def in_process(root, case, module, args):
        assert module == "seqlab.benchmarks.preset_process"
        overrides = dict(arg.split("=", 1) for arg in args if "=" in arg)
        corpus = Path(overrides["dataset.data_dir"]) / "input.txt"
        size = case.rsplit("-", 1)[1]
        asked[size] = (corpus.read_text(), overrides["dataset.cache_dir"])
        peak = {"x1": 900.0, "x20": peak_x20}.get(size, 900.0)
        return {"status": "FINISHED", "value": 1.9, "peak_rss_mib": peak, "wall_seconds": 60.0, "log": "log",
                "history": {"train/epoch_sec": [10.0, 30.0], "train/tokens_per_sec": [1000.0, 2000.0]}}

    monkeypatch.setattr(language_model, "in_process", in_process)
    assert language_model.corpus_scaling(tmp_path, quick=True)["work"] == language_model.QUICK_SCALE_WORK
    report = language_model.corpus_scaling(tmp_path)
    assert report["work"] == language_model.SCALE_WORK
    assert asked["x1"][0] == "ROMEO:\nGood night.\n" and asked["x20"][0] == "ROMEO:\nGood night.\n" * 20
    assert asked["x1"][1] != asked["x20"][1]  # a cache of its own: each case builds it
    assert report["cases"]["x20"]["tokens_per_sec"] == 1750.0  # pooled: 70000 tokens over 40 s
    assert report["cases"]["x20"]["corpus_bytes"] == 20 * len("ROMEO:\nGood night.\n")
    assert (report["peak_rss_ratio"], report["met"]) == (round(peak_x20 / 900.0, 3), met)


def test_the_kv_cache_speedup_is_reported_only_for_the_same_tokens():
    results = {"kv_cache": {"tokens_per_sec": 300.0}, "no_cache": {"tokens_per_sec": 120.0}}
    assert generation_speed.cache_speedup(results, same_tokens=True) == 2.5
    assert generation_speed.cache_speedup(results, same_tokens=False) is None


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
