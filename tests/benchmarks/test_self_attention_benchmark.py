"""The self_attention suite's arithmetic on fake runs: the classifier judged on its test rows, the pretraining's
gain as the difference of mean test accuracies over the seeds (dev beside), a missing seed named, and the
translators compared in the same budget with epochs fitted to it."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from seqlab.benchmarks import self_attention
from seqlab.errors import SeqlabError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def trial(family: str, seed: int, test: float, dev: float) -> dict:
    return {"run_id": f"{family}-{seed}", "status": "FINISHED", "tags": {"family": family},
            "swept": {"family": family, "seed": str(seed)}, "metrics": {"test/acc": test, "objective": dev}}


def test_the_suite_judges_each_case_on_its_held_out_figure(tmp_path, monkeypatch):
    trained = []

    def train_preset(root, name, overrides, minutes, histories=()):
        trained.append((name, overrides, minutes))
        figures = {"sentiment_transformer": (0.86, {"test/acc": 0.829}),  # dev says met, test does not
                   "translate_attention-de-en": (33.0, {"test/bleu": 32.5}),
                   "translate_transformer-de-en": (31.0, {"test/bleu": 32.51})}[name]
        return {"preset": name, "overrides": overrides, "optimized_metric": "val/acc", "value": figures[0],
                "wall_seconds": 60.0, "run_id": name, "run_dir": f"/runs/{name}", "metrics": figures[1]}

    monkeypatch.setattr(self_attention, "train_preset", train_preset)
    fitted = []
    monkeypatch.setattr(self_attention, "fitted_epochs",
                        lambda root, overrides, minutes: fitted.append(overrides[0]) or 7)
    asked = []
    monkeypatch.setattr(self_attention, "transfer_report_from_options",
                        lambda options: asked.append(options) or {"pretraining_run": "p1", "sweep": "s1"})
    trials = [trial("bert_pretrained", 1, 0.84, 0.83), trial("bert_pretrained", 2, 0.82, 0.82),
              trial("bert_pretrained", 3, 0.83, 0.81), trial("bert_scratch", 1, 0.81, 0.80),
              trial("bert_scratch", 2, 0.80, 0.79), trial("bert_scratch", 3, 0.815, 0.80)]
    monkeypatch.setattr(self_attention, "sweep_trials", lambda uri, sweep: trials if sweep == "s1" else [])
    pretraining = SimpleNamespace(info=SimpleNamespace(start_time=1_000, end_time=601_000),
                                  data=SimpleNamespace(metrics={"val/loss": 4.2}))
    monkeypatch.setattr(self_attention, "get_run", lambda uri, run_id: pretraining)

    report = json.loads(self_attention.run(tmp_path, None).read_text())

    sentiment = report["sentiment_transformer"]
    assert (sentiment["best_val_acc"], sentiment["test_acc"], sentiment["met"]) == (0.86, 0.829, False)
    assert trained[0][2] == self_attention.SENTIMENT_MINUTES
    # the translators' epochs fitted to their budget; the classifier keeps its preset's, which fit in its own
    assert fitted == ["experiment=translate_attention", "experiment=translate_transformer"]
    assert not any(o.startswith("trainer.max_epochs") for o in trained[0][1])
    [options] = asked
    assert options.families == ["bert_pretrained", "bert_scratch"] and options.seeds == [1, 2, 3]
    gain = report["pretraining"]
    assert gain["families"]["bert_pretrained"]["mean_test_acc"] == 0.83
    assert gain["families"]["bert_scratch"]["mean_test_acc"] == 0.8083
    assert (gain["gain_test_acc"], gain["met"]) == (0.0217, True)
    assert gain["gain_best_val_acc"] == round((0.82 - 0.7967), 4)
    assert gain["pretraining_seconds"] == 600.0 and gain["pretraining_val_loss"] == 4.2
    assert {name: t["met"] for name, t in report["targets"].items()} == {
        "sentiment_transformer test acc": False, "bert pretrained minus scratch, mean test acc": True,
        "de-en transformer minus attention, test bleu": True}
    translation = report["translation"]
    assert translation["presets"]["translate_transformer"]["test_bleu"] == 32.51 and translation["met"]
    for name, overrides, minutes in trained[1:]:
        assert minutes == self_attention.TRANSLATION_MINUTES and "trainer.max_epochs=7" in overrides
        assert {"dataset.src_lang=de", "dataset.tgt_lang=en"} <= set(overrides), name


def test_the_gain_is_of_test_means_and_a_missing_seed_is_named():
    trials = [trial("bert_pretrained", 1, 0.83, 0.90), trial("bert_scratch", 1, 0.82, 0.80)]
    gain = self_attention.pretraining_gain(trials, [1])
    assert (gain["gain_test_acc"], gain["gain_best_val_acc"], gain["met"]) == (0.01, 0.1, False)  # dev: not judged
    with pytest.raises(SeqlabError, match=r"family bert_scratch has no run for seed\(s\) \[2\]"):
        self_attention.pretraining_gain([*trials, trial("bert_pretrained", 2, 0.8, 0.8)], [1, 2])
    broken = [trial("bert_pretrained", 1, 0.83, 0.9), {**trial("bert_scratch", 1, 0.8, 0.8), "metrics": {}}]
    with pytest.raises(SeqlabError, match=r"pretraining bert_scratch seed 1 has no test/acc"):
        self_attention.pretraining_gain(broken, [1])


def test_quick_fits_no_epochs_to_the_budget(tmp_path, monkeypatch):
    """--quick trains the smoke slices for their own epochs: epochs fitted to a 10 or 20-minute budget would fill
    it."""
    trained = []

    def train_preset(root, name, overrides, minutes, histories=()):
        trained.append((name, overrides))
        return {"preset": name, "overrides": overrides, "optimized_metric": "val/acc", "value": 0.5,
                "wall_seconds": 1.0, "run_id": name, "run_dir": f"/runs/{name}",
                "metrics": {"test/acc": 0.5, "test/bleu": 1.0}}

    monkeypatch.setattr(self_attention, "train_preset", train_preset)
    monkeypatch.setattr(self_attention, "fitted_epochs", lambda *args: pytest.fail("fitted under --quick"))
    monkeypatch.setattr(self_attention, "pretraining_case", lambda root, quick: {"gain_test_acc": 0.0, "met": False})
    self_attention.run(tmp_path, None, quick=True)
    assert [name for name, _ in trained] == ["sentiment_transformer", "translate_attention-de-en",
                                             "translate_transformer-de-en"]
    assert all("debug=smoke" in overrides for _, overrides in trained)
    assert not any(o.startswith("trainer.max_epochs") for o in trained[0][1])  # the smoke config's own
    assert all(f"trainer.max_epochs={self_attention.QUICK_EPOCHS}" in o for _, o in trained[1:])
