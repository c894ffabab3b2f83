"""The outputs of a finished token-classification run: reports (per-type table, test predictions,
attention maps) and the model with its tokenizer."""

from __future__ import annotations

import json
from pathlib import Path

from seqlab.inference.entity_tagger import LANG_KEY, EntityTagger
from seqlab.ner.evaluation import score_docs
from seqlab.ner.report_files import write_reports
from seqlab.reports.attention_maps import write_attention_maps
from seqlab.tasks.outputs import ModelKind, RunOutputs

ATTENTION_SENTENCES = 3  # dev sentences whose attention maps the reports draw


def write_token_classification_outputs(task, datamodule, run_dir: Path) -> RunOutputs:
    """Reports into <run_dir>/reports: the per-type table (val and test, the best weights), the test
    predictions with displacy pages (as the spaCy NER runs write them), attention maps of a few dev sentences.
    The model and tokenizer into <run_dir>/model, a save_pretrained folder that from_pretrained, `make ner
    run_id=...` and model.net.pretrained=mlflow:<run_id> load back."""
    folder, bundle = run_dir / "reports", run_dir / "model"
    model = task.net.model
    tagger = EntityTagger(model, datamodule.tokenizer, datamodule.lang, datamodule.max_length,
                          datamodule.eval_batch_size)
    val = score_docs(tagger.tag(datamodule.docs["val"]), datamodule.docs["val"])
    write_reports({"val": val, "test": task.test_scores}, folder)
    (folder / "data_stats.json").write_text(json.dumps(datamodule.data_stats(), indent=2))
    texts = [doc.text for doc in datamodule.docs["val"][:ATTENTION_SENTENCES]]
    write_attention_maps(model, datamodule.tokenizer, texts, folder / "attention")
    setattr(model.config, LANG_KEY, datamodule.lang)
    model.cpu().save_pretrained(bundle)
    datamodule.tokenizer.save_pretrained(bundle)
    return RunOutputs(reports=folder, model_dir=bundle, model_kind=ModelKind.TOKEN_CLASSIFIER,
                      examples=[doc.text for doc in datamodule.docs["test"][:ATTENTION_SENTENCES]])

