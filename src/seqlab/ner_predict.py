"""Find named entities in texts with a NER run's logged model (MLflow: a spaCy pipeline, or a fine-tuned Transformer
token classifier) or a pretrained spaCy pipeline, print each entity's text, label, start and end character
(tab-separated), and write a displacy page."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from omegaconf import DictConfig

from seqlab.input_texts import input_texts

TOKEN_CLASSIFIER = "seqlab.tasks.token_classification.TokenClassificationTask"  # model._target_ of such runs


def load_nlp(cfg: DictConfig):
    """What turns texts into Docs with entities (`pipe`): a run's spaCy pipeline or fine-tuned token classifier,
    or a pretrained spaCy pipeline."""
    if cfg.run_id:
        from seqlab.tracking.model_loading import load_run_spacy_model, run_model_folder, run_model_target

        if run_model_target(cfg.tracking_uri, str(cfg.run_id)) == TOKEN_CLASSIFIER:
            from seqlab.inference.entity_tagger import EntityTagger

            return EntityTagger.from_folder(run_model_folder(cfg.tracking_uri, str(cfg.run_id), "run_id"))
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
