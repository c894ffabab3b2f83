"""The report files of an NER run, spaCy's or a fine-tuned Transformer's: per-type table, test predictions."""

from __future__ import annotations

import json
from pathlib import Path

from seqlab.ner.display import entity_rows, render_page
from seqlab.ner.evaluation import SplitScores, write_per_type_table

SAMPLE_DOCS = 200  # test sentences shown in the displacy pages


def write_reports(scores: dict[str, SplitScores], reports: Path) -> Path:
    """The per-type table of every split, and the test split's predictions: test_predictions.jsonl (text,
    gold and predicted entities as text, label, start, end) and displacy pages of its first SAMPLE_DOCS
    sentences."""
    write_per_type_table(scores, reports)
    test = scores["test"]
    with open(reports / "test_predictions.jsonl", "w", encoding="utf-8") as fh:
        for doc, ref in zip(test.docs, test.references, strict=True):
            row = {"text": doc.text, "gold": [list(r) for r in entity_rows(ref)],
                   "predicted": [list(r) for r in entity_rows(doc)]}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    render_page(test.docs[:SAMPLE_DOCS], reports / "test_predicted.html", "predicted entities (test)")
    render_page(test.references[:SAMPLE_DOCS], reports / "test_gold.html", "gold entities (test)")
    return reports
