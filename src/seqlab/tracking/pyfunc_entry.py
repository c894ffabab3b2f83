"""The code MLflow runs to load a seqlab pyfunc model ("models from code": nothing of it is pickled), copied
into each logged model beside seqlab's package (code/); never imported as a module of seqlab."""

import importlib

from mlflow.models import ModelConfig, set_model

# the PythonModel class of the model's family, e.g. seqlab.tracking.pyfunc_classifier.TextClassifierPyfunc;
# only seqlab's pyfunc classes are taken
PYTHON_MODEL = ModelConfig().get("python_model")
if not PYTHON_MODEL.startswith("seqlab.tracking.pyfunc_"):
    raise ValueError(f"refusing to load '{PYTHON_MODEL}': only seqlab.tracking.pyfunc_* classes are seqlab "
                     "models")
module, _, name = PYTHON_MODEL.rpartition(".")
set_model(getattr(importlib.import_module(module), name)())
