"""A seqlab text classifier as an MLflow pyfunc."""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import pandas as pd

from seqlab.tracking.pyfunc_model import BUNDLE, input_texts, log_pyfunc_model, user_errors_as_bad_requests

# huggingface_hub: seqlab's nets load through its PyTorchModelHubMixin (seqlab.models.hub_mixin)
LIBRARIES = ["torch", "tokenizers", "safetensors", "huggingface_hub"]
OUTPUTS = {"text": "string", "label": "string", "probability": "double"}


def is_pretrained_bundle(folder: str | Path) -> bool:
    """A fine-tuned transformers classifier's save_pretrained folder (a config.json), not seqlab's own bundle
    (whose config.json names a seqlab net)."""
    # imported here: the net's code (torch) is imported when the model loads or is logged, not with tracking
    from seqlab.inference.net_builder import saved_architecture

    return (Path(folder) / "config.json").is_file() and saved_architecture(folder) is None


class TextClassifierPyfunc(mlflow.pyfunc.PythonModel):
    """mlflow.pyfunc.load_model(uri).predict(["I love this movie"]) returns a table of text, label and
    probability."""

    def load_context(self, context) -> None:
        # the model's code is imported when it loads (logging it needs none), and transformers only for a
        # fine-tuned encoder: a seqlab net's requirements do not list it
        bundle = context.artifacts[BUNDLE]
        if is_pretrained_bundle(bundle):
            from seqlab.inference.pretrained_text_classifier import PretrainedTextClassifier

            self.classifier = PretrainedTextClassifier.from_folder(bundle)
        else:
            from seqlab.inference.text_classifier import TextClassifier

            self.classifier = TextClassifier.from_bundle(bundle)

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        texts = input_texts(model_input)
        with user_errors_as_bad_requests():
            return pd.DataFrame(self.classifier.predict(texts), columns=list(OUTPUTS))


def log_classifier(tracking_uri: str, run_id: str, model_dir: str | Path, examples: list[str]) -> None:
    libraries = LIBRARIES + (["transformers"] if is_pretrained_bundle(model_dir) else [])
    log_pyfunc_model(tracking_uri, run_id, TextClassifierPyfunc, model_dir, libraries, OUTPUTS, examples)
