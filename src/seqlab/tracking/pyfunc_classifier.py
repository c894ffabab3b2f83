"""A seqlab text classifier as an MLflow pyfunc: mlflow.pyfunc.load_model(uri).predict(["I love this movie"]). The
bundle is seqlab's own (net.json) or a fine-tuned transformers classifier's save_pretrained folder (config.json)."""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import pandas as pd

REQUIREMENTS = ["torch", "tokenizers", "safetensors", "hydra-core", "pandas", "seqlab"]


def is_pretrained_bundle(folder: str | Path) -> bool:
    return (Path(folder) / "config.json").is_file()


def requirements(folder: str | Path) -> list[str]:
    return REQUIREMENTS + (["transformers"] if is_pretrained_bundle(folder) else [])


class TextClassifierPyfunc(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        from seqlab.inference.pretrained_text_classifier import PretrainedTextClassifier
        from seqlab.inference.text_classifier import TextClassifier

        bundle = context.artifacts["bundle"]
        loader = PretrainedTextClassifier.from_folder if is_pretrained_bundle(bundle) else TextClassifier.from_bundle
        self.classifier = loader(bundle)

    def predict(self, context, model_input: list[str], params=None) -> pd.DataFrame:
        return pd.DataFrame(self.classifier.predict(list(model_input)))
