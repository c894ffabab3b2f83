"""Checks of the dataset options the datamodules share; each bad value is named where it is set."""

from __future__ import annotations

import typing
from dataclasses import fields

from seqlab.errors import SeqlabError


def options_from_config(cls, options: dict | None, where: str, at_least: dict[str, tuple[int, str]]):
    """An option dataclass (tokenizer options) built from a config mapping: cls(**options), once every key is
    a field of cls, every Literal field holds one of its choices and every field named in at_least holds a
    whole number of at least its bound (name -> (bound, why it is the bound))."""
    options = dict(options or {})
    known = {f.name for f in fields(cls)}
    for key in options:
        if key not in known:
            raise SeqlabError(f"unknown option {where}.{key}; options: {', '.join(sorted(known))}")
    made = cls(**options)
    for name, hint in typing.get_type_hints(cls).items():
        choices = typing.get_args(hint) if typing.get_origin(hint) is typing.Literal else None
        if choices and getattr(made, name) not in choices:
            raise SeqlabError(f"{where}.{name}={getattr(made, name)!r} is not a valid choice; "
                              f"choices: {', '.join(choices)}")
    for name, (least, why) in at_least.items():
        value = getattr(made, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise SeqlabError(f"{where}.{name} must be a whole number of at least "
                              f"{least}{f' ({why})' if why else ''}")
    return made


def check_sample_caps(max_train_samples: int | None, max_eval_samples: int | None, unit: str) -> None:
    """dataset.max_train_samples / max_eval_samples: null (every `unit`) or at least 1."""
    for option, cap in (("max_train_samples", max_train_samples), ("max_eval_samples", max_eval_samples)):
        if cap is not None and cap < 1:
            raise SeqlabError(f"dataset.{option}={cap} must be at least 1 {unit}, or null for every {unit}")
