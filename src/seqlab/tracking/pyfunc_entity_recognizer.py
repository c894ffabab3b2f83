"""A NER run's model as an MLflow pyfunc: a spaCy pipeline (config.cfg) or a fine-tuned transformers token
classifier (config.json, tagged through seqlab.inference.entity_tagger)."""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import pandas as pd

from seqlab.tracking.pyfunc_model import BUNDLE, input_texts, log_pyfunc_model, user_errors_as_bad_requests

OUTPUTS = {"index": "long", "text": "string", "label": "string", "start": "long", "end": "long"}


def is_spacy_pipeline(folder: str | Path) -> bool:
    return (Path(folder) / "config.cfg").is_file()


class EntityRecognizerPyfunc(mlflow.pyfunc.PythonModel):
    """mlflow.pyfunc.load_model(uri).predict(["Alice moved to New York"]) returns one row per entity: `index`
    (the position of the text it was found in, from 0), its `text`, `label`, and `start` and `end` character
    offsets in that text; a text without entities has no row."""

    def load_context(self, context) -> None:
        # the model's code (spaCy; torch, transformers) is imported when it loads: logging it needs none
        bundle = context.artifacts[BUNDLE]
        if is_spacy_pipeline(bundle):
            import spacy

            from seqlab.ner import spacy_hooks  # noqa: F401  (the functions a trained pipeline's config names)

            self.recognizer = spacy.load(bundle)
        else:
            from seqlab.inference.entity_tagger import EntityTagger

            self.recognizer = EntityTagger.from_folder(bundle)

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        texts = input_texts(model_input)
        with user_errors_as_bad_requests():
            docs = self.recognizer.pipe(texts)
            rows = [(index, ent.text, ent.label_, ent.start_char, ent.end_char)
                    for index, doc in enumerate(docs) for ent in doc.ents]
        table = pd.DataFrame(rows, columns=list(OUTPUTS))
        return table.astype({name: "int64" for name, kind in OUTPUTS.items() if kind == "long"})


def log_entity_recognizer(tracking_uri: str, run_id: str, model_dir: str | Path, examples: list[str]) -> None:
    if is_spacy_pipeline(model_dir):
        libraries = ["spacy"]
    else:
        libraries = ["torch", "tokenizers", "safetensors", "transformers", "spacy"]
    log_pyfunc_model(tracking_uri, run_id, EntityRecognizerPyfunc, model_dir, libraries, OUTPUTS, examples)
