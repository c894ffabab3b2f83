"""A seqlab language model (the recurrent one, or GPT-2) as an MLflow pyfunc."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import mlflow.pyfunc
import pandas as pd

from seqlab.inference.generation_options import GenerationOptions
from seqlab.tracking.pyfunc_model import BUNDLE, input_texts, log_pyfunc_model, user_errors_as_bad_requests

LIBRARIES = ["torch", "tokenizers", "safetensors", "transformers", "huggingface_hub"]
OUTPUTS = {"prompt": "string", "generated_text": "string"}
NOT_PARAMS = ("num_return_sequences", "use_cache")  # one row per prompt; the cache is no choice of the caller
MLFLOW_TYPES = {"int": "long", "float": "double", "bool": "boolean"}
EXAMPLE_PARAMS = {"max_new_tokens": 20, "seed": 0}  # a short, repeatable example


def generation_params() -> dict[str, tuple[str, object]]:
    """name -> (MLflow type, default) of each decoding option a caller may set."""
    return {f.name: (MLFLOW_TYPES[str(f.type).removesuffix(" | None")], f.default)
            for f in dataclasses.fields(GenerationOptions) if f.name not in NOT_PARAMS}


class TextGeneratorPyfunc(mlflow.pyfunc.PythonModel):
    """mlflow.pyfunc.load_model(uri).predict(["ROMEO:"], params={"max_new_tokens": 50, "seed": 1}) returns a
    table of prompts and generated texts (each prompt followed by its continuation, as `make generate` prints
    it). The params are `make generate`'s decoding options (seqlab.inference.generation_options), with their
    defaults there: one continuation per prompt."""

    def load_context(self, context) -> None:
        # the model's code (torch, transformers) is imported when it loads: logging it needs none
        from seqlab.inference.text_generator import TextGenerator

        self.generator = TextGenerator.from_directory(context.artifacts[BUNDLE])

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        prompts = input_texts(model_input)
        with user_errors_as_bad_requests():
            given = {k: v for k, v in (params or {}).items() if v is not None}
            options = GenerationOptions.from_mapping(given)
            generated = [self.generator.generate(prompt, options)[0] for prompt in prompts]
        return pd.DataFrame({"prompt": prompts, "generated_text": generated})


def log_generator(tracking_uri: str, run_id: str, model_dir: str | Path, examples: list[str]) -> None:
    log_pyfunc_model(tracking_uri, run_id, TextGeneratorPyfunc, model_dir, LIBRARIES, OUTPUTS, examples,
                     generation_params(), EXAMPLE_PARAMS)
