"""Benchmarks: each suite trains its presets on a real dataset and writes outputs/bench/<suite>.json.

A suite is a module here with `run(root: Path, minutes: float) -> dict`; SUITES maps its name to it.
"""

SUITES = {
    "classification": "seqlab.benchmarks.classification",
    "sweeps": "seqlab.benchmarks.sweeps",
}
