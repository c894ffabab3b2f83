"""Find named entities in texts with a NER run's logged spaCy pipeline (MLflow) or a pretrained one, print each
entity's text, label, start and end character (tab-separated), and write a displacy page."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from omegaconf import DictConfig

from seqlab.input_texts import input_texts


def load_nlp(cfg: DictConfig):
    if cfg.run_id:
        from seqlab.tracking.model_loading import load_run_spacy_model

        return load_run_spacy_model(cfg.tracking_uri, str(cfg.run_id))
    from seqlab.ner.pretrained import load_pipeline

    return load_pipeline(str(cfg.pipeline))


def recognize(cfg: DictConfig) -> dict:
    """{"entities": [[(text, label, start, end), ...] per text], "html": path of the displacy page}."""
    from seqlab.ner.display import entity_rows, render_page

    texts = input_texts(cfg, "read")
    nlp = load_nlp(cfg)
    docs = list(nlp.pipe(texts))
    entities = []
    for doc in docs:
        if len(docs) > 1:
            print(f"# {doc.text}")
        rows = entity_rows(doc)
        for text, label, start, end in rows:
            print(f"{text}\t{label}\t{start}\t{end}")
        entities.append(rows)
    source = f"run {cfg.run_id}" if cfg.run_id else str(cfg.pipeline)
    page = Path(cfg.report_dir) / f"ner-{datetime.now():%Y%m%d-%H%M%S-%f}.html"
    render_page(docs, page, f"entities ({source})")
    print(f"displacy page: {page}")
    return {"entities": entities, "html": page}
