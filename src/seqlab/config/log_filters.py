"""Logging filters that Hydra's job logging config (conf/hydra/default.yaml) attaches to its handlers.

Lightning gives its `lightning` logger a console handler of its own when it is imported, and lets the records
propagate to the root logger too, where Hydra's console handler prints them again: each Lightning message would
show twice. Hydra's console handler skips them (Lightning's own handler shows them); its file handler still
writes them to the run's log. Lightning's advertisement at every fit (a tip to install another logger) is
dropped where it is logged."""

from __future__ import annotations

import logging


class SkipLogger(logging.Filter):
    """Drops the records of logger `name` and its children."""

    def __init__(self, name: str):
        super().__init__()
        self.skipped = name

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == self.skipped or record.name.startswith(self.skipped + "."))


class SkipMessages(logging.Filter):
    """Drops the records whose message starts with `prefix`."""

    def __init__(self, prefix: str):
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefix)
