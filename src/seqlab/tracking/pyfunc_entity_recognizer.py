"""A NER run's model as an MLflow pyfunc: a trained spaCy pipeline (SpacyRecognizerPyfunc) or a fine-tuned
transformers token classifier tagged through seqlab.inference.entity_tagger (TokenClassifierPyfunc); the run
says which it wrote (its ModelKind)."""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import pandas as pd

from seqlab.tracking.pyfunc_model import BUNDLE, input_texts, log_pyfunc_model, user_errors_as_bad_requests

OUTPUTS = {"index": "long", "text": "string", "label": "string", "start": "long", "end": "long"}
TOKEN_CLASSIFIER_LIBRARIES = ["torch", "tokenizers", "safetensors", "transformers", "spacy"]


class EntityRecognizerPyfunc(mlflow.pyfunc.PythonModel):
    """mlflow.pyfunc.load_model(uri).predict(["Alice moved to New York"]) returns one row per entity: `index`
    (the position of the text it was found in, from 0), its `text`, `label`, and `start` and `end` character
    offsets in that text; a text without entities has no row. Its kinds load their recognizer, which makes
    spaCy docs, into self.recognizer."""

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        texts = input_texts(model_input)
        with user_errors_as_bad_requests():
            docs = self.recognizer.pipe(texts)
            rows = [(index, ent.text, ent.label_, ent.start_char, ent.end_char)
                    for index, doc in enumerate(docs) for ent in doc.ents]
        table = pd.DataFrame(rows, columns=list(OUTPUTS))
        return table.astype({name: "int64" for name, kind in OUTPUTS.items() if kind == "long"})


class SpacyRecognizerPyfunc(EntityRecognizerPyfunc):
    """A trained spaCy pipeline."""

    def load_context(self, context) -> None:
        # the model's code is imported when it loads: logging it needs none
        import spacy

        from seqlab.ner import spacy_hooks  # noqa: F401  (the functions a trained pipeline's config names)

        self.recognizer = spacy.load(context.artifacts[BUNDLE])


class TokenClassifierPyfunc(EntityRecognizerPyfunc):
    """A fine-tuned transformers token classifier, through seqlab's entity tagger."""

    def load_context(self, context) -> None:
        from seqlab.inference.entity_tagger import EntityTagger  # torch, transformers: when it loads

        self.recognizer = EntityTagger.from_folder(context.artifacts[BUNDLE])


def log_spacy_recognizer(tracking_uri: str, run_id: str, model_dir: str | Path, examples: list[str]) -> None:
    log_pyfunc_model(tracking_uri, run_id, SpacyRecognizerPyfunc, model_dir, ["spacy"], OUTPUTS, examples)


def log_token_classifier(tracking_uri: str, run_id: str, model_dir: str | Path, examples: list[str]) -> None:
    log_pyfunc_model(tracking_uri, run_id, TokenClassifierPyfunc, model_dir, TOKEN_CLASSIFIER_LIBRARIES,
                     OUTPUTS, examples)
