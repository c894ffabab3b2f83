"""A classification run's model as an MLflow pyfunc: seqlab's own net (TextClassifierPyfunc) or a fine-tuned
transformers encoder (PretrainedTextClassifierPyfunc); the run says which it wrote (its ModelKind)."""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import pandas as pd

from seqlab.tracking.pyfunc_model import BUNDLE, input_texts, log_pyfunc_model, user_errors_as_bad_requests

# huggingface_hub: seqlab's nets load through its PyTorchModelHubMixin (seqlab.models.hub_mixin)
LIBRARIES = ["torch", "tokenizers", "safetensors", "huggingface_hub"]
OUTPUTS = {"text": "string", "label": "string", "probability": "double"}


class TextClassifierPyfunc(mlflow.pyfunc.PythonModel):
    """mlflow.pyfunc.load_model(uri).predict(["I love this movie"]) returns a table of text, label and
    probability. Loads seqlab's own bundle (net, tokenizer, labels)."""

    def load_context(self, context) -> None:
        # the model's code (torch) is imported when it loads: logging it needs none
        from seqlab.inference.text_classifier import TextClassifier

        self.classifier = TextClassifier.from_bundle(context.artifacts[BUNDLE])

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        texts = input_texts(model_input)
        with user_errors_as_bad_requests():
            return pd.DataFrame(self.classifier.predict(texts), columns=list(OUTPUTS))


class PretrainedTextClassifierPyfunc(TextClassifierPyfunc):
    """The same answers from a fine-tuned transformers encoder's save_pretrained folder."""

    def load_context(self, context) -> None:
        # transformers is imported only for this kind: a seqlab net's requirements do not list it
        from seqlab.inference.pretrained_text_classifier import PretrainedTextClassifier

        self.classifier = PretrainedTextClassifier.from_folder(context.artifacts[BUNDLE])


def log_classifier(tracking_uri: str, run_id: str, model_dir: str | Path, examples: list[str]) -> None:
    log_pyfunc_model(tracking_uri, run_id, TextClassifierPyfunc, model_dir, LIBRARIES, OUTPUTS, examples)


def log_pretrained_classifier(tracking_uri: str, run_id: str, model_dir: str | Path,
                              examples: list[str]) -> None:
    log_pyfunc_model(tracking_uri, run_id, PretrainedTextClassifierPyfunc, model_dir,
                     [*LIBRARIES, "transformers"], OUTPUTS, examples)
