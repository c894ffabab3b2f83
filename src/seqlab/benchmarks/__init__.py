"""Benchmarks: each suite trains its presets on a real dataset and writes outputs/bench/<suite>.json."""

# a suite's name -> its module, whose `run(root: Path, minutes: float | None, quick: bool = False) -> Path`
# returns the path of its report
SUITES = {
    "classification": "seqlab.benchmarks.classification",
    "sweeps": "seqlab.benchmarks.sweeps",
    "language_model": "seqlab.benchmarks.language_model",
    "translation": "seqlab.benchmarks.translation",
    "ner": "seqlab.benchmarks.ner",
    "checkpointing": "seqlab.benchmarks.checkpointing",
    "finetune": "seqlab.benchmarks.finetune",
    "self_attention": "seqlab.benchmarks.self_attention",
}
