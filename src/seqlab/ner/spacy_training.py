"""Training of a spaCy pipeline from a generated config with spaCy's own loop (spacy.training.loop.train)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from spacy.training.initialize import init_nlp
from spacy.training.loop import train

from seqlab.ner.spacy_hooks import TrainingTimeLimit, evaluations_to


@dataclass
class TrainedPipeline:
    best_dir: Path         # the checkpoint with the best dev score (model-best)
    last_step: int
    time_limit_hit: bool


def train_pipeline(config, labels: list[str], output_dir: Path, on_evaluation: Callable[[dict], None]
                   ) -> TrainedPipeline:
    """Trains the pipeline `config` describes: init_nlp builds and initializes it (sourcing and resuming
    pretrained components), spaCy's loop runs batches, dropout, evaluation every eval_frequency steps,
    patience and checkpoints (model-best, model-last). Its ner gets every label of `labels` (new labels extend
    a sourced ner's output layer); on_evaluation(info) is called after each evaluation on dev."""
    output_dir.mkdir(parents=True, exist_ok=True)
    nlp = init_nlp(config, use_gpu=-1)
    ner = nlp.get_pipe("ner")
    added = [label for label in labels if ner.add_label(label)]
    if added and config["components"]["ner"].get("source"):
        print(f"ner: added label(s) {', '.join(added)} to the pretrained recognizer", file=sys.stderr)
    last_step = [0]

    def listen(info: dict) -> None:
        last_step[0] = int(info["step"])
        on_evaluation(info)

    time_limit_hit = False
    with evaluations_to(listen):
        try:
            train(nlp, output_dir, use_gpu=-1, stdout=sys.stdout, stderr=sys.stderr)
        except TrainingTimeLimit as stop:
            time_limit_hit = True
            print(f"training stopped: {stop}; keeping the best checkpoint so far", file=sys.stderr)
    best = output_dir / "model-best"
    return TrainedPipeline(best if best.is_dir() else output_dir / "model-last", last_step[0], time_limit_hit)
