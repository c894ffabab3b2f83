"""The two kinds of spaCy NER run, start to end: train (blank or fine-tuned) then test, or score a pretrained
pipeline as is; both log val/ and test/ ents_p, ents_r, ents_f (overall and per type) and the report files."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import spacy

from seqlab.errors import SeqlabError
from seqlab.ner import spacy_hooks  # noqa: F401  (registers the functions the generated config names)
from seqlab.ner.evaluation import SplitScores, score_split
from seqlab.ner.package_meta import write_package_meta
from seqlab.ner.report_files import SAMPLE_DOCS, write_reports
from seqlab.ner.spacy_config import build_config, inspect_pretrained
from seqlab.ner.spacy_training import train_pipeline
from seqlab.pretrained.spacy_pipelines import load_ner_pipeline
from seqlab.reports.run_summary import print_summary
from seqlab.tasks.outputs import ModelKind


def fit_and_test(task, cfg, dataset, tracker, run_dir: Path) -> float:
    pretrained = inspect_pretrained(task.pipeline) if task.init == "pretrained" else None
    lang = pretrained.lang if pretrained else task.lang
    paths = dataset.docbins(lang)
    _log_data(dataset, tracker, run_dir)
    config = build_config(task, train=paths["train"], dev=paths["val"], seed=int(cfg.seed), lang=lang,
                          pretrained=pretrained)
    spacy_dir = run_dir / "spacy"
    spacy_dir.mkdir(parents=True, exist_ok=True)
    config.to_disk(spacy_dir / "config.cfg")
    tracker.log_artifact(spacy_dir / "config.cfg")
    if pretrained:
        kept = sorted(set(pretrained.labels) - set(dataset.labels))
        print(f"fine-tuning the ner of {pretrained.name} on {', '.join(dataset.labels)}"
              + (f"; its own labels ({len(kept)}) stay in the model, trained towards O" if kept else ""),
              file=sys.stderr)

    best = [-math.inf]
    evaluated_at = [-1]  # the step of the evaluation before; spaCy's losses add up the updates since then

    def on_evaluation(info: dict) -> None:
        scores = info.get("other_scores", {})
        metrics = {f"val/{k}": float(scores.get(k) or 0.0) for k in ("ents_p", "ents_r", "ents_f")}
        step = int(info["step"])
        updates = max(1, step - evaluated_at[0])
        evaluated_at[0] = step
        # the mean over the updates
        metrics["train/loss"] = float(info.get("losses", {}).get("ner", 0.0)) / updates
        metrics["train/epoch"] = float(info.get("epoch", 0))
        tracker.log_metrics(metrics, step=step)
        best[0] = max(best[0], metrics["val/ents_f"])

    trained = train_pipeline(config, dataset.labels, spacy_dir / "training", on_evaluation)
    write_package_meta(trained.best_dir, dataset.name, dataset.source, dataset.labels, tracker.run_id)
    nlp = spacy.load(trained.best_dir)
    scores = {"val": score_split(nlp, paths["val"], task.gold_tokens),
              "test": score_split(nlp, paths["test"], task.gold_tokens)}
    step = trained.last_step + 1
    tracker.log_metrics({**scores["val"].metrics("val"), **scores["test"].metrics("test")}, step=step)
    if trained.time_limit_hit:
        tracker.set_tags({"stopped_by": f"time limit ({task.budget.max_minutes} minutes)"})
    _write_reports(scores, run_dir, tracker)
    tracker.log_artifact(trained.best_dir, "pipeline")
    examples = [doc.text for doc in scores["test"].references[:SAMPLE_DOCS]]
    tracker.log_model(trained.best_dir, ModelKind.SPACY, examples)
    value = best[0] if best[0] > -math.inf else scores["val"].f1
    _summary(scores, value, tracker, run_dir)
    return value


def score_pretrained(task, cfg, dataset, tracker, run_dir: Path) -> float:
    nlp = load_ner_pipeline(task.pipeline)
    if not task.label_map:
        raise SeqlabError("model.label_map is empty: map the pipeline's labels to the dataset's, e.g. "
                          "model.label_map='{PERSON: person, ORG: corporation}'")
    own = set(nlp.get_pipe("ner").labels)
    unknown = sorted(set(task.label_map) - own)
    if unknown:
        raise SeqlabError(f"model.label_map maps {unknown}, which '{task.pipeline}' does not predict; its "
                          f"labels: {', '.join(sorted(own))}")
    paths = dataset.docbins(nlp.lang)
    _log_data(dataset, tracker, run_dir)
    foreign = sorted(set(task.label_map.values()) - set(dataset.labels))
    if foreign:
        print(f"warning: model.label_map maps onto {foreign}, which the dataset's train split lacks",
              file=sys.stderr)
    (run_dir / "label_map.json").write_text(json.dumps(task.label_map, indent=2))
    tracker.log_artifact(run_dir / "label_map.json")
    scores = {split: score_split(nlp, paths[split], task.gold_tokens, task.label_map)
              for split in ("val", "test")}
    tracker.log_metrics({**scores["val"].metrics("val"), **scores["test"].metrics("test")}, step=0)
    _write_reports(scores, run_dir, tracker)
    _summary(scores, scores["val"].f1, tracker, run_dir)
    return scores["val"].f1


def _log_data(dataset, tracker, run_dir: Path) -> None:
    (run_dir / "data_stats.json").write_text(json.dumps(dataset.stats, indent=2))
    tracker.log_artifact(run_dir / "data_stats.json")
    repaired = sum(s["repaired_i_tags"] for s in dataset.stats.values())
    tracker.log_metrics({"data/repaired_i_tags": float(repaired)}, step=0)


def _write_reports(scores: dict[str, SplitScores], run_dir: Path, tracker) -> None:
    tracker.log_artifact(write_reports(scores, run_dir / "reports"), "reports")


def _summary(scores: dict[str, SplitScores], value: float, tracker, run_dir: Path) -> None:
    final = {k: v for split, s in scores.items() for k, v in s.metrics(split, per_type=False).items()}
    final["best val/ents_f"] = value
    print_summary(final, tracker.run_id, run_dir)
