"""The model registry: a run's logged model registered under a name, and a registered model's URI read back as
the run it came from, so that every command that takes run_id= takes model= the same way."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

from seqlab.errors import SeqlabError
from seqlab.tracking.model_loading import LOCAL_STORE
from seqlab.tracking.pyfunc_model import MODEL_NAME
from seqlab.tracking.run_lookup import get_run, reading

# MLflow is imported where used: the commands import this module at start-up

PREFIX = "models:/"
FORMS = "models:/<name>@<alias> or models:/<name>/<version>"
HOW_TO_REGISTER = "register a run's model with `make register RUN=<run_id> NAME=<name> ALIAS=<alias>`"


def logged_model_id(tracking_uri: str, run_id: str) -> str:
    """The id of the MLflow model the run logged as "model"; a run without one is a SeqlabError."""
    from mlflow.tracking import MlflowClient

    run = get_run(tracking_uri, run_id)
    with reading(tracking_uri):
        models = MlflowClient(tracking_uri).search_logged_models(
            experiment_ids=[run.info.experiment_id], filter_string=f"source_run_id = '{run_id}'")
    ready = [m for m in models if m.name == MODEL_NAME and str(m.status).endswith("READY")]
    if not ready:
        raise SeqlabError(f"run '{run_id}' ({run.info.status}) logged no MLflow model to register; a "
                          "finished training run of a classifier, translator, language model or NER model "
                          "has one")
    return max(ready, key=lambda m: m.creation_timestamp).model_id


def register_run_model(tracking_uri: str, run_id: str, name: str, alias: str | None = None):
    """Registers the model run `run_id` logged as a new version of `name` (created if new), points `alias` at
    it when given, prints what it did and returns the ModelVersion."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    if not name or not str(name).strip():
        raise SeqlabError("the registered model's name is empty; give NAME=<name> (register=<name>)")
    model_id = logged_model_id(tracking_uri, run_id)
    client = MlflowClient(tracking_uri)
    with reading(tracking_uri):
        try:
            try:
                client.create_registered_model(name)
            except MlflowException as err:
                if err.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
            version = client.create_model_version(name, f"models:/{model_id}", run_id=run_id,
                                                  model_id=model_id)
            if alias:
                client.set_registered_model_alias(name, alias, version.version)
        except MlflowException as err:
            if err.error_code != "INVALID_PARAMETER_VALUE":
                raise
            with_alias = f" with alias {alias!r}" if alias else ""
            raise SeqlabError(f"cannot register run '{run_id}' as '{name}'{with_alias}: "
                              f"{err.message.splitlines()[0]}") from None
    uri = f"{PREFIX}{name}@{alias}" if alias else f"{PREFIX}{name}/{version.version}"
    print(f"registered run {run_id}'s model as {name} version {version.version}: {uri}", file=sys.stderr)
    return version


@dataclass
class RegisterOptions:  # pipelines/register.py (make register)
    run_id: str | None = None
    name: str | None = None
    alias: str | None = None  # e.g. champion: models:/<name>@<alias> then names this version
    tracking_uri: str = field(
        default_factory=lambda: os.environ.get("MLFLOW_TRACKING_URI", LOCAL_STORE))


def register_from_options(options: RegisterOptions):
    if not options.run_id or not options.name:
        raise SeqlabError("give the run and the name: "
                          "make register RUN=<run_id> NAME=<name> [ALIAS=champion]")
    return register_run_model(options.tracking_uri, str(options.run_id), str(options.name), options.alias)


def parse_model_uri(uri: str) -> tuple[str, str | None, str | None]:
    """(name, alias, version) of models:/<name>@<alias> or models:/<name>/<version>."""
    rest = str(uri).strip()
    if not rest.startswith(PREFIX):
        raise SeqlabError(f"model={uri} is not a registered model's URI; give {FORMS}")
    rest = rest[len(PREFIX):]
    if "@" in rest:
        name, _, alias = rest.rpartition("@")
        if name and alias:
            return name, alias, None
    elif "/" in rest:
        name, _, version = rest.rpartition("/")
        if name and version.isdigit():
            return name, None, version
    raise SeqlabError(f"model={uri} names no alias or version number; give {FORMS}")


def model_version(tracking_uri: str, uri: str):
    """The ModelVersion a models:/ URI names; a name, alias or version the registry lacks is a SeqlabError
    saying what it holds."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    name, alias, version = parse_model_uri(uri)
    client = MlflowClient(tracking_uri)
    with reading(tracking_uri):
        try:
            registered = client.get_registered_model(name)
        except MlflowException as err:
            if err.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            names = sorted(m.name for m in client.search_registered_models(max_results=100))
            raise SeqlabError(f"{uri}: no registered model '{name}' in {tracking_uri} (registered: "
                              f"{', '.join(names) or 'none'}); {HOW_TO_REGISTER}") from None
        if alias is not None:
            if alias not in registered.aliases:
                aliases = sorted(registered.aliases.items())
                held = ", ".join(f"{a} (version {v})" for a, v in aliases) or "none"
                raise SeqlabError(f"{uri}: registered model '{name}' has no alias '{alias}' (its aliases: "
                                  f"{held}); use models:/{name}/<version>, or set the alias with "
                                  f"`make register RUN=<run_id> NAME={name} ALIAS={alias}`")
            version = str(registered.aliases[alias])
        versions = sorted(int(v.version) for v in client.search_model_versions(f"name = '{name}'"))
        if int(version) not in versions:
            raise SeqlabError(f"{uri}: registered model '{name}' has no version {version} (its versions: "
                              f"{', '.join(map(str, versions)) or 'none'})")
        return client.get_model_version(name, version)


def run_of_model(tracking_uri: str, uri: str) -> str:
    """The id of the run whose model a models:/ URI names."""
    found = model_version(tracking_uri, uri)
    if not found.run_id:
        raise SeqlabError(f"{uri} (version {found.version}) was registered from no run of this store; "
                          "register a seqlab run's model")
    return found.run_id


def chosen_run(tracking_uri: str, run_id, model) -> str | None:
    """The run a command works with: run_id=<id>, or the run a model=models:/... URI was registered from."""
    if run_id and model:
        raise SeqlabError(f"pass run_id=<id> or model={FORMS}, not both")
    if model:
        return run_of_model(tracking_uri, str(model))
    return str(run_id) if run_id else None
