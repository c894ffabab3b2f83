"""Checks of the MLflow pyfunc model a run logged, shared by the tests of each family: what it carries to leave the
project (seqlab's code, pinned requirements, an input example, a typed signature), and that it answers a list of
texts and a table with a `text` column alike, in the signature's columns and types."""

from __future__ import annotations

import tempfile
from importlib.metadata import version
from pathlib import Path

import mlflow
import pandas as pd
from packaging.version import Version

KINDS = {"string": pd.api.types.is_string_dtype, "double": pd.api.types.is_float_dtype,
         "long": pd.api.types.is_integer_dtype}  # MLflow's column types, as pandas holds them


def logged_requirements(folder: Path) -> dict[str, str]:
    lines = [line for line in (folder / "requirements.txt").read_text().splitlines() if line.strip()]
    assert all("==" in line for line in lines), lines  # every requirement pinned
    return dict(line.split("==", 1) for line in lines)


def check_logged_model(tracking_uri: str, run_id: str, texts: list[str], libraries: set[str],
                       params: dict | None = None) -> pd.DataFrame:
    """Loads runs:/<run_id>/model with mlflow.pyfunc and checks what it carries: code/seqlab, requirements pinned
    to the installed versions of `libraries` (and mlflow, pandas, omegaconf; seqlab never), an input example, a
    signature of one string input and typed outputs. Returns its answer to `texts`, asked as a list and as a table
    (the same), whose columns and dtypes are the signature's."""
    mlflow.set_tracking_uri(tracking_uri)
    uri = f"runs:/{run_id}/model"
    with tempfile.TemporaryDirectory() as scratch:  # the downloads, removed after
        folder = Path(mlflow.artifacts.download_artifacts(uri, dst_path=scratch))
        assert (folder / "code" / "seqlab" / "__init__.py").is_file()  # seqlab travels with the model
        assert not (folder / "python_model.pkl").exists()  # models from code: nothing pickled
        requirements = logged_requirements(folder)
        assert "seqlab" not in requirements
        expected = {"mlflow", "pandas", "omegaconf", *libraries}
        assert set(requirements) == expected, requirements
        assert all(requirements[name] == Version(version(name)).public for name in expected)
        assert (folder / "input_example.json").is_file() and (folder / "serving_input_example.json").is_file()

        model = mlflow.pyfunc.load_model(str(folder))  # the folder runs:/<run_id>/model downloaded to
        signature = model.metadata.signature
        [column] = signature.inputs.inputs
        assert column.type.name == "string" and column.name is None  # a list of strings, or a table's text column
        outputs = {c.name: c.type.name for c in signature.outputs.inputs}
        answer = model.predict(texts, params=params)
        assert list(answer.columns) == list(outputs)
        assert all(KINDS[kind](answer[name]) for name, kind in outputs.items()), answer.dtypes
        as_table = model.predict(pd.DataFrame({"text": texts}), params=params)
        pd.testing.assert_frame_equal(as_table, answer)
        return answer
