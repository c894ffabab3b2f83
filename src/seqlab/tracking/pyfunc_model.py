"""What every model a seqlab run logs as an MLflow pyfunc shares, so that it loads and answers outside this
project."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

import pandas as pd
from packaging.version import Version

from seqlab.errors import SeqlabError

# MLflow is imported where used: the commands import this module (MODEL_NAME) at start-up

MODEL_NAME = "model"  # runs:/<run_id>/model
# the artifact key of the folder the family's loader reads (copied to artifacts/<folder name>)
BUNDLE = "bundle"
TEXT_COLUMN = "text"
SEQLAB_PACKAGE = Path(__file__).resolve().parents[1]  # shipped as the model's code: code/seqlab
ENTRY = Path(__file__).with_name("pyfunc_entry.py")  # what MLflow runs to build the model when it loads it
BASE_LIBRARIES = ("omegaconf", "pandas")  # importing seqlab needs omegaconf; answers are pandas tables
EXAMPLES = 2  # texts of the run's data in the input example


def pinned_requirements(libraries: tuple[str, ...] | list[str]) -> list[str]:
    """name==version of each library as installed now (the run's versions); a local version label is dropped
    (torch 2.13.0+cpu is pinned as torch==2.13.0, which pip finds on PyPI and which the +cpu build
    satisfies)."""
    names = dict.fromkeys([*BASE_LIBRARIES, *libraries])
    return [f"{name}=={Version(version(name)).public}" for name in names]


def bad_request(message: str):
    """An error the scoring server answers with HTTP 400 and a JSON body naming it (an MLflow
    INVALID_PARAMETER_VALUE error)."""
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

    return MlflowException(message, error_code=INVALID_PARAMETER_VALUE)


@contextmanager
def user_errors_as_bad_requests() -> Iterator[None]:
    """A SeqlabError (an empty prompt, temperature=0, a bad generation option) reaches a client as a bad
    request with seqlab's message."""
    try:
        yield
    except SeqlabError as err:
        raise bad_request(str(err)) from None


def input_texts(model_input) -> list[str]:
    """The texts of a pyfunc input: a list (or array, or Series) of strings, or a table with a `text` column;
    a table of one unnamed column is a list that MLflow turned into a table. So `inputs`, `dataframe_split`
    and `dataframe_records` requests of `mlflow models serve` all work; a table without a `text` column is a
    bad request."""
    if isinstance(model_input, pd.DataFrame):
        columns = list(model_input.columns)
        if TEXT_COLUMN in columns:
            values = model_input[TEXT_COLUMN].tolist()
        elif len(columns) == 1 and not isinstance(columns[0], str):
            values = model_input.iloc[:, 0].tolist()
        else:
            raise bad_request(f"expected the texts in a column named '{TEXT_COLUMN}' (or a list of strings); "
                              f"got the columns {columns}")
    elif isinstance(model_input, str):
        values = [model_input]
    else:
        values = list(model_input)
    if not all(isinstance(v, str) for v in values):
        raise bad_request("every input must be a string (a text)")
    return values


def log_pyfunc_model(tracking_uri: str, run_id: str, python_model: type, bundle: str | Path,
                     libraries: list[str], outputs: dict[str, str], examples: list[str],
                     params: dict[str, tuple[str, object]] | None = None,
                     example_params: dict | None = None) -> None:
    """Logs the PythonModel class `python_model` (which reads context.artifacts[BUNDLE]) as the run's model
    "model", so that it loads and answers outside this project: seqlab's own package is shipped inside the
    model (code_paths: `code/seqlab`, importable without installing seqlab) and the model is built from it
    when it loads (models from code, pyfunc_entry.py: nothing pickled), with requirements pinned to the
    versions the run used (`libraries`). Its signature has real types: `outputs` column -> MLflow type,
    `params` name -> (MLflow type, default) of the options that change an answer at call time; the first
    EXAMPLES `examples` (texts of the run's data) are its input example, with `example_params`."""
    import mlflow
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema

    signature = ModelSignature(
        inputs=Schema([ColSpec("string")]),
        outputs=Schema([ColSpec(kind, name) for name, kind in outputs.items()]),
        params=ParamSchema([ParamSpec(name, kind, default) for name, (kind, default) in params.items()])
        if params else None,
    )
    texts = [t for t in examples if t.strip()][:EXAMPLES] or ["hello"]
    example = pd.DataFrame({TEXT_COLUMN: texts})
    mlflow.set_tracking_uri(tracking_uri)
    with mlflow.start_run(run_id=run_id, nested=mlflow.active_run() is not None):
        mlflow.pyfunc.log_model(
            name=MODEL_NAME,
            python_model=str(ENTRY),
            model_config={"python_model": f"{python_model.__module__}.{python_model.__qualname__}"},
            artifacts={BUNDLE: str(bundle)},
            code_paths=[str(SEQLAB_PACKAGE)],
            signature=signature,
            input_example=(example, example_params) if example_params else example,
            pip_requirements=pinned_requirements(libraries),
        )
    # leaving the block marks the run FINISHED; the tracker sets its final status after this
