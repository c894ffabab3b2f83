"""What a finished task hands to tracking: report files and an exported model, by kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class ModelKind(StrEnum):
    """What an exported model folder holds: tracking logs each kind its own way
    (seqlab.tracking.mlflow_tracker.MODEL_LOGGERS)."""

    TEXT_CLASSIFIER = "text_classifier"  # seqlab's own net with its tokenizer and labels
    PRETRAINED_TEXT_CLASSIFIER = "pretrained_text_classifier"  # a fine-tuned transformers encoder
    TRANSLATOR = "translator"
    LANGUAGE_MODEL = "language_model"
    TOKEN_CLASSIFIER = "token_classifier"  # a fine-tuned transformers token classifier (NER)
    SPACY = "spacy"  # a trained spaCy NER pipeline (seqlab.ner.runs)
    MASKED_LANGUAGE_MODEL = "masked_language_model"


@dataclass
class RunOutputs:
    reports: Path | None = None  # a folder of report files (plots, CSV, samples), logged under reports/
    model_dir: Path | None = None  # an exported model folder
    model_kind: ModelKind | None = None  # what model_dir holds: how tracking logs it
    extra: dict[str, Path] = field(default_factory=dict)  # artifact path -> file or folder
    examples: list[str] = field(default_factory=list)  # a few inputs from the data: the model's input example
