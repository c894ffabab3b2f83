"""Lineage between runs: a run whose model.net.pretrained is mlflow:<run_id> starts from the model that run
logged, and the MLflow UI shows the link from both ends."""

from __future__ import annotations

PRETRAINED_FROM = "seqlab.pretrained_from"  # on the new run when it starts: the run id it came from
FINETUNED_BY = "seqlab.finetuned_by"  # on the source run once the new one finishes: comma-separated run ids
RUN_PREFIX = "mlflow:"  # model.net.pretrained=mlflow:<run_id>


def source_run(pretrained) -> str | None:
    """The run id of a model.net.pretrained value of the form mlflow:<run_id>; None for any other value."""
    if not isinstance(pretrained, str) or not pretrained.strip().startswith(RUN_PREFIX):
        return None
    return pretrained.strip()[len(RUN_PREFIX):].strip() or None


def weights_run(net) -> str | None:
    """The run whose weights a model (its model.net config, or None) starts from: the run of
    model.net.pretrained's mlflow:<run_id>, unless model.net.from_scratch is set (that model's architecture
    and tokenizer, none of its weights: no lineage)."""
    if not net or net.get("from_scratch"):
        return None
    return source_run(net.get("pretrained"))


def lineage_tags(source: str | None) -> dict[str, str]:
    return {PRETRAINED_FROM: source} if source else {}
