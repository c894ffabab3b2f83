"""Logging filters that Hydra's job logging config (conf/hydra/default.yaml) attaches to its handlers."""

from __future__ import annotations

import logging


class SkipLogger(logging.Filter):
    """Drops the records of logger `name` and its children. Lightning gives its `lightning` logger a console
    handler of its own and lets records propagate to the root logger too, where Hydra's console handler would
    print them again; that handler skips them, its file handler still writes them to the run's log."""

    def __init__(self, name: str):
        super().__init__()
        self.skipped = name

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == self.skipped or record.name.startswith(self.skipped + "."))


class SkipMessages(logging.Filter):
    """Drops the records whose message starts with `prefix` (Lightning's advertisement at every fit)."""

    def __init__(self, prefix: str):
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefix)
