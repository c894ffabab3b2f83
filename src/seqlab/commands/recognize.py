"""`make ner`: named entities in texts (text, label, start, end) from a NER run or a spaCy pipeline, and a
displacy page."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from omegaconf import DictConfig

from seqlab.commands.input_texts import input_texts
from seqlab.ner.display import entity_rows, render_page
from seqlab.pretrained.spacy_pipelines import load_pipeline
from seqlab.tracking.model_loading import load_run_predictor
from seqlab.tracking.registry import chosen_run


def load_nlp(cfg: DictConfig):
    """What turns texts into Docs with entities (`pipe`): a run's spaCy pipeline or fine-tuned token
    classifier (its logged model, by run_id or model=models:/...), or a pretrained spaCy pipeline."""
    run_id = chosen_run(cfg.tracking_uri, cfg.run_id, cfg.model_uri)
    if run_id:
        return load_run_predictor(cfg.tracking_uri, run_id, "recognizer",
                                  "entity recognizer; pass the run id of a NER run (experiment=ner_*)")
    return load_pipeline(str(cfg.pipeline))


def recognize(cfg: DictConfig) -> dict:
    """{"entities": [[(text, label, start, end), ...] per text], "html": path of the displacy page}; each
    entity printed as text, label, start and end character, tab-separated."""
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
    source = f"run {cfg.run_id}" if cfg.run_id else cfg.model_uri or str(cfg.pipeline)
    page = Path(cfg.report_dir) / f"ner-{datetime.now():%Y%m%d-%H%M%S-%f}.html"
    render_page(docs, page, f"entities ({source})")
    print(f"displacy page: {page}")
    return {"entities": entities, "html": page}
