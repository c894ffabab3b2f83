"""WNUT-17 benchmark: test entity F1 (spaCy's scorer, exact span and type) of the NER presets, each trained for
at most `minutes` (spaCy's loop stops at the preset's epochs or patience, or at model.max_minutes), with
per-type F1; the zero-shot en_core_web_sm baseline scored alongside.

    python pipelines/benchmark.py ner [--minutes 20]
"""

from __future__ import annotations

from pathlib import Path

from seqlab.benchmarks.runner import train_preset, write_report

TARGETS = {"ner_spacy": 0.30, "ner_spacy_finetune": 0.40}  # test ents_f; fine-tuning must also beat ner_spacy
BASELINE = "ner_pretrained_eval"
PREFIX = "test/ents_per_type/"
LABELS = ("corporation", "creative-work", "group", "location", "person", "product")  # WNUT-17's types


def run(root: Path, minutes: float | None) -> Path:
    minutes = minutes or 20.0
    presets = {}
    for preset in [*TARGETS, BASELINE]:
        overrides = [f"experiment={preset}"]
        if preset in TARGETS:
            overrides.append(f"model.max_minutes={minutes}")
        result = train_preset(root, preset, overrides, minutes, ("val/ents_f",))
        presets[preset] = {**result, **_figures(result.get("metrics", {}))}
    for preset, target in TARGETS.items():
        presets[preset].update(target=target, met=presets[preset]["test_f1"] >= target)
    tuned, blank = presets["ner_spacy_finetune"], presets["ner_spacy"]
    tuned["beats_ner_spacy"] = tuned["test_f1"] > blank["test_f1"]
    tuned["met"] = tuned["met"] and tuned["beats_ner_spacy"]
    summary = {name: {"test_f1": p["test_f1"], "per_label_f1": p["per_label_f1"]} for name, p in presets.items()}
    return write_report(root, "ner", {"dataset": "wnut17 (test)", "minutes_per_preset": minutes,
                                      "summary": summary, "zero_shot_baseline": BASELINE, "presets": presets})


def _figures(metrics: dict[str, float]) -> dict:
    per_label = {label: round(metrics.get(f"{PREFIX}{label}/f", 0.0), 4) for label in LABELS}
    return {
        "test_f1": round(metrics.get("test/ents_f", 0.0), 4),
        "test_precision": round(metrics.get("test/ents_p", 0.0), 4),
        "test_recall": round(metrics.get("test/ents_r", 0.0), 4),
        "per_label_f1": per_label,
    }
