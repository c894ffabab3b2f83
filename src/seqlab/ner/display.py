"""Entities as the course prints them (text, label, start and end character) and as a displacy page."""

from __future__ import annotations

import html
import warnings
from pathlib import Path

# displacy colours the OntoNotes labels (and so WNUT-17's person and product); these colour every other label
PALETTE = ["#7aecec", "#bfeeb7", "#feca74", "#ff9561", "#aa9cfc", "#c887fb", "#9cc9cc", "#ffeb80", "#ff8197",
           "#e4e7d2", "#bfe1d9", "#f0d0ff"]


def entity_rows(doc) -> list[tuple[str, str, int, int]]:
    return [(ent.text, ent.label_, ent.start_char, ent.end_char) for ent in doc.ents]


def render_page(docs, path: Path, title: str | None = None) -> Path:
    """A standalone HTML page of `docs` with their entities highlighted (displacy's `ent` style)."""
    # displacy is imported only where a page is drawn
    from spacy import displacy
    from spacy.displacy.render import DEFAULT_LABEL_COLORS

    labels = sorted({ent.label_ for doc in docs for ent in doc.ents})
    fresh = [label for label in labels if label.upper() not in DEFAULT_LABEL_COLORS]
    colors = {label.upper(): PALETTE[i % len(PALETTE)] for i, label in enumerate(fresh)}
    with warnings.catch_warnings():  # a doc without entities is shown as plain text
        warnings.filterwarnings("ignore", message=r"\[W006\]")
        page = displacy.render(list(docs), style="ent", page=True, jupyter=False,
                               options={"colors": colors} if colors else {})
    if title:
        page = page.replace("<title>displaCy</title>", f"<title>{html.escape(title)}</title>", 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path

