"""Entity-level precision, recall and F1 with spaCy's scorer, overall and per type, on a split."""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from spacy.scorer import get_ner_prf
from spacy.tokens import Span
from spacy.training import Corpus, Example


@dataclass
class SplitScores:
    """Scores of a split by spaCy's NER scorer (the ner component's `score`: exact span and type)."""

    precision: float
    recall: float
    f1: float
    per_type: dict[str, dict[str, float]]          # label -> {p, r, f}
    gold: Counter = field(default_factory=Counter)  # entities per label in the reference
    predicted: Counter = field(default_factory=Counter)
    docs: list = field(default_factory=list)        # predicted docs, in corpus order
    references: list = field(default_factory=list)

    def metrics(self, prefix: str, per_type: bool = True) -> dict[str, float]:
        out = {f"{prefix}/ents_p": self.precision, f"{prefix}/ents_r": self.recall,
               f"{prefix}/ents_f": self.f1}
        if per_type:
            for label, prf in self.per_type.items():
                for key in ("p", "r", "f"):
                    out[f"{prefix}/ents_per_type/{metric_safe(label)}/{key}"] = prf[key]
        return out

    def rows(self, split: str) -> list[dict]:
        labels = sorted(set(self.gold) | set(self.predicted) | set(self.per_type))
        rows = []
        for label in labels:
            prf = self.per_type.get(label, {"p": 0.0, "r": 0.0, "f": 0.0})
            rows.append({"split": split, "label": label, "precision": prf["p"], "recall": prf["r"],
                         "f1": prf["f"], "gold": self.gold[label], "predicted": self.predicted[label]})
        rows.append({"split": split, "label": "ALL (micro)", "precision": self.precision,
                     "recall": self.recall, "f1": self.f1, "gold": sum(self.gold.values()),
                     "predicted": sum(self.predicted.values())})
        return rows


def metric_safe(label: str) -> str:
    """An entity label as part of an MLflow metric name (letters, digits, _ - . and space kept)."""
    return re.sub(r"[^\w\-. ]", "_", label)


def corpus_examples(nlp, path: Path, gold_tokens: bool) -> list:
    """Examples of a DocBin split as spaCy's training loop reads them (spacy.Corpus)."""
    return list(Corpus(str(path), gold_preproc=gold_tokens)(nlp))


def score_split(nlp, path: Path, gold_tokens: bool, label_map: dict[str, str] | None = None,
                batch_size: int = 256) -> SplitScores:
    """`nlp`'s entities on a DocBin split, scored; with a label map (zero-shot evaluation of a pipeline
    trained on other labels) its entities are renamed, and those of unmapped types dropped."""
    examples = corpus_examples(nlp, path, gold_tokens)
    docs = list(nlp.pipe((eg.predicted for eg in examples), batch_size=batch_size))
    if label_map is not None:
        for doc in docs:
            doc.ents = [Span(doc, e.start, e.end, label=label_map[e.label_]) for e in doc.ents
                        if e.label_ in label_map]
    return score_docs(docs, [eg.reference for eg in examples])


def score_docs(docs: list, references: list) -> SplitScores:
    """Predicted Docs against reference Docs of the same words, with spaCy's NER scorer (what the ner
    component's `score` returns): the one scorer of spaCy pipelines and fine-tuned Transformers alike."""
    scores = get_ner_prf([Example(doc, ref) for doc, ref in zip(docs, references, strict=True)])
    return SplitScores(
        precision=float(scores.get("ents_p") or 0.0),
        recall=float(scores.get("ents_r") or 0.0),
        f1=float(scores.get("ents_f") or 0.0),
        per_type={k: {m: float(v[m]) for m in ("p", "r", "f")}
                  for k, v in (scores.get("ents_per_type") or {}).items()},
        gold=Counter(e.label_ for ref in references for e in ref.ents),
        predicted=Counter(e.label_ for d in docs for e in d.ents),
        docs=list(docs),
        references=list(references),
    )


def write_per_type_table(scores: dict[str, SplitScores], folder: Path) -> tuple[Path, Path]:
    """ents_per_type.csv and ents_per_type.md: precision, recall, F1 and counts per label and split."""
    rows = [row for split, s in scores.items() for row in s.rows(split)]
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = folder / "ents_per_type.csv", folder / "ents_per_type.md"
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()})
    lines = ["| split | label | precision | recall | F1 | gold | predicted |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r['split']} | {r['label']} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | "
              f"{r['gold']} | {r['predicted']} |" for r in rows]
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return csv_path, md_path
