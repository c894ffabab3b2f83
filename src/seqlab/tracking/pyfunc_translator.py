"""A seqlab translator as an MLflow pyfunc."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow.pyfunc
import pandas as pd

from seqlab.tracking.pyfunc_model import BUNDLE, input_texts, log_pyfunc_model, user_errors_as_bad_requests

# huggingface_hub: seqlab's nets load through its PyTorchModelHubMixin (seqlab.models.hub_mixin)
LIBRARIES = ["torch", "tokenizers", "safetensors", "huggingface_hub"]
OUTPUTS = {"source": "string", "translation": "string"}


class TranslatorPyfunc(mlflow.pyfunc.PythonModel):
    """mlflow.pyfunc.load_model(uri).predict(["A man is riding a bike."]) returns a table of sources and
    translations; params beam_size (1: greedy search) and length_penalty, whose defaults are the run's
    decoding options."""

    def load_context(self, context) -> None:
        # the model's code (torch, transformers) is imported when it loads: logging it needs none
        from seqlab.inference.translator import Translator

        self.translator = Translator.from_bundle(context.artifacts[BUNDLE])

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        params = params or {}
        texts = input_texts(model_input)
        beam_size, length_penalty = params.get("beam_size"), params.get("length_penalty")
        with user_errors_as_bad_requests():
            translations = self.translator.translate(
                texts, beam_size=None if beam_size is None else int(beam_size),
                length_penalty=None if length_penalty is None else float(length_penalty))
        return pd.DataFrame({"source": [t.source for t in translations],
                             "translation": [t.text for t in translations]})


def log_translator(tracking_uri: str, run_id: str, model_dir: str | Path, examples: list[str]) -> None:
    """The run's decoding options are the params' defaults."""
    decoding = json.loads((Path(model_dir) / "decoding.json").read_text())
    params = {"beam_size": ("long", int(decoding["beam_size"])),
              "length_penalty": ("double", float(decoding["length_penalty"]))}
    log_pyfunc_model(tracking_uri, run_id, TranslatorPyfunc, model_dir, LIBRARIES, OUTPUTS, examples, params)
