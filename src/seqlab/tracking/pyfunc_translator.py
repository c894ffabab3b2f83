"""A seqlab translator as an MLflow pyfunc: mlflow.pyfunc.load_model(uri).predict(["A man is riding a bike."])
returns a table of sources and translations (params={"beam_size": 1} for greedy search)."""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import pandas as pd


class TranslatorPyfunc(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        from seqlab.inference.translator import Translator

        self.translator = Translator.from_bundle(context.artifacts["bundle"])

    def predict(self, context, model_input, params=None):  # no type hints: the logged signature declares params
        params = params or {}
        if isinstance(model_input, pd.DataFrame):  # a list of strings arrives as a one-column table
            model_input = model_input.iloc[:, 0]
        translations = self.translator.translate([str(t) for t in model_input], beam_size=params.get("beam_size"),
                                                 length_penalty=params.get("length_penalty"))
        return pd.DataFrame({"source": [t.source for t in translations], "translation": [t.text for t in translations]})


def log_translator(tracking_uri: str, run_id: str, model_dir: str | Path) -> None:
    """Logs a translator bundle as the run's pyfunc model "model"; its decoding options are the params' defaults."""
    import json

    from mlflow.models import infer_signature

    decoding = json.loads((Path(model_dir) / "decoding.json").read_text())
    params = {"beam_size": int(decoding["beam_size"]), "length_penalty": float(decoding["length_penalty"])}
    example = pd.DataFrame({"source": ["a"], "translation": ["a"]})
    signature = infer_signature(["a"], example, params=params)
    mlflow.set_tracking_uri(tracking_uri)
    with mlflow.start_run(run_id=run_id, nested=mlflow.active_run() is not None):
        mlflow.pyfunc.log_model(
            name="model",
            python_model=TranslatorPyfunc(),
            artifacts={"bundle": str(model_dir)},
            signature=signature,
            pip_requirements=["torch", "tokenizers", "safetensors", "hydra-core", "pandas", "seqlab"],
        )
