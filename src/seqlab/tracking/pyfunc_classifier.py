"""A seqlab text classifier as an MLflow pyfunc: mlflow.pyfunc.load_model(uri).predict(["I love this movie"])."""

from __future__ import annotations

import mlflow.pyfunc
import pandas as pd


class TextClassifierPyfunc(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        from seqlab.inference.text_classifier import TextClassifier

        self.classifier = TextClassifier.from_bundle(context.artifacts["bundle"])

    def predict(self, context, model_input: list[str], params=None) -> pd.DataFrame:
        return pd.DataFrame(self.classifier.predict(list(model_input)))
