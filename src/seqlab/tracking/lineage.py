"""Lineage between runs: a run whose model.net.pretrained is mlflow:<run_id> starts from the model that run logged.
The new run is tagged PRETRAINED_FROM=<run_id> when it starts; once it finishes, the run it came from lists it in
FINETUNED_BY (comma-separated run ids), so that the MLflow UI shows the link from both ends. A run with
model.net.from_scratch takes that model's architecture and tokenizer but none of its weights: no lineage."""

from __future__ import annotations

PRETRAINED_FROM = "seqlab.pretrained_from"
FINETUNED_BY = "seqlab.finetuned_by"
RUN_PREFIX = "mlflow:"  # model.net.pretrained=mlflow:<run_id>


def source_run(pretrained) -> str | None:
    """The run id of a model.net.pretrained value of the form mlflow:<run_id>; None for any other value."""
    if not isinstance(pretrained, str) or not pretrained.strip().startswith(RUN_PREFIX):
        return None
    return pretrained.strip()[len(RUN_PREFIX):].strip() or None


def weights_run(net) -> str | None:
    """The run whose weights a model (its model.net config, or None) starts from: the run of model.net.pretrained's
    mlflow:<run_id>, unless model.net.from_scratch is set."""
    if not net or net.get("from_scratch"):
        return None
    return source_run(net.get("pretrained"))


def lineage_tags(source: str | None) -> dict[str, str]:
    return {PRETRAINED_FROM: source} if source else {}
