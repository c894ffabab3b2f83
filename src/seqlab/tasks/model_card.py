"""What the model card (README.md) of a run's saved net records: the dataset and its license, the test
metrics, the command that trained it."""

from __future__ import annotations

from seqlab.data.download import LICENSES
from seqlab.tracking.run_info import command_line

OWN_DATA = "not recorded: the data are your own files (state their license before sharing this model)"


def model_card(task, datamodule) -> dict:
    """The model_card_kwargs of a net's save_pretrained, for a task that was tested (its trainer's test/
    metrics) on `datamodule` (dataset.name, and the public dataset it came from, whose license seqlab
    knows)."""
    metrics = task.trainer.callback_metrics
    return {
        "dataset": datamodule.name,
        "license": LICENSES.get(datamodule.source or "", OWN_DATA),
        "metrics": {name: round(float(value), 4) for name, value in sorted(metrics.items())
                    if name.startswith("test/")},
        "command": command_line(),
    }
