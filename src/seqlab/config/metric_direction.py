"""Which way a metric improves, read from its name (the part after the split: val/loss -> loss)."""

from __future__ import annotations

LOWER_IS_BETTER = ("loss", "ppl", "bpc", "epoch_sec")
HIGHER_IS_BETTER = ("acc", "masked_acc", "f1", "bleu", "chrf", "ents_f", "ents_p", "ents_r", "tokens_per_sec")


def direction(metric: str) -> str | None:
    """'min', 'max', or None for a metric name seqlab does not know."""
    name = metric.rsplit("/", 1)[-1]
    if name in LOWER_IS_BETTER:
        return "min"
    if name in HIGHER_IS_BETTER:
        return "max"
    return None
