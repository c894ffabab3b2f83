"""The code MLflow runs to load a seqlab pyfunc model ("models from code": nothing of the model is pickled). It is
copied into each logged model beside seqlab's package (code/), and its model config names the PythonModel class
of the model's family; only classes of seqlab.tracking are taken. Never imported as a module of seqlab."""

import importlib

from mlflow.models import ModelConfig, set_model

PYTHON_MODEL = ModelConfig().get("python_model")  # e.g. seqlab.tracking.pyfunc_classifier.TextClassifierPyfunc
if not PYTHON_MODEL.startswith("seqlab.tracking.pyfunc_"):
    raise ValueError(f"refusing to load '{PYTHON_MODEL}': only seqlab.tracking.pyfunc_* classes are seqlab models")
module, _, name = PYTHON_MODEL.rpartition(".")
set_model(getattr(importlib.import_module(module), name)())
