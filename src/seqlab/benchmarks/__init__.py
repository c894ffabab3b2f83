"""Benchmarks: each suite trains its presets on a real dataset and writes outputs/bench/<suite>.json.

A suite is a module here with `run(root: Path, minutes: float | None) -> Path` (its report); SUITES maps its
name to it.
"""

SUITES = {
    "classification": "seqlab.benchmarks.classification",
    "sweeps": "seqlab.benchmarks.sweeps",
    "language_model": "seqlab.benchmarks.language_model",
    "translation": "seqlab.benchmarks.translation",
    "ner": "seqlab.benchmarks.ner",
    "checkpointing": "seqlab.benchmarks.checkpointing",
    "finetune": "seqlab.benchmarks.finetune",
}
