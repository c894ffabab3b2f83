"""The logger and the time-limit callback that the generated spaCy config names, registered in spaCy's
registries on import: `seqlab.TrackerLogger.v1` and `seqlab.time_limit.v1`."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import spacy

_listeners: list[Callable[[dict], None]] = []  # who receives evaluation infos of the training in progress


class TrainingTimeLimit(Exception):
    """Raised between two updates once the time budget is spent; the best checkpoint so far is kept."""


@contextmanager
def evaluations_to(listener: Callable[[dict], None]) -> Iterator[None]:
    """While inside, every evaluation of spaCy's training loop calls listener(info) (info: step, epoch, score,
    other_scores with ents_p/ents_r/ents_f/ents_per_type, losses, seconds)."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


@spacy.registry.loggers("seqlab.TrackerLogger.v1")
def tracker_logger(progress_bar: bool = False):
    """`seqlab.TrackerLogger.v1`: spaCy's console logger, and each evaluation's info handed to the listeners
    of evaluations_to (the run's tracker)."""
    console_logger = spacy.registry.loggers.get("spacy.ConsoleLogger.v3")
    console = console_logger(progress_bar="eval" if progress_bar else None)

    def setup(nlp, stdout=sys.stdout, stderr=sys.stderr):
        log_console, finalize = console(nlp, stdout, stderr)

        def log_step(info: dict | None) -> None:
            log_console(info)
            if info is not None:
                for listener in list(_listeners):
                    listener(info)

        return log_step, finalize

    return setup


@spacy.registry.callbacks("seqlab.time_limit.v1")
def time_limit(minutes: float):
    """`seqlab.time_limit.v1`: a `[training.before_update]` callback that stops training after `minutes`."""
    deadline: list[float] = []

    def check(nlp, args: dict) -> None:
        if not deadline:  # the clock starts at the first update
            deadline.append(time.monotonic() + minutes * 60)
        elif time.monotonic() > deadline[0]:
            raise TrainingTimeLimit(f"{minutes:g} minutes of training reached at step {args['step']}")

    return check
