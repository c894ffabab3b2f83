"""How entry points end: a SeqlabError prints one clear line and exits 1; anything else is a bug with a traceback."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable

from seqlab.errors import SeqlabError


def run_or_exit(func: Callable, *args, **kwargs):
    """Calls func; a user error ends the process with its message, or, inside a sweep, fails only this trial."""
    from seqlab.run_context import is_multirun

    try:
        return func(*args, **kwargs)
    except SeqlabError as err:
        print(f"error: {err}", file=sys.stderr)
        if is_multirun():
            return math.nan  # the sweep goes on; the trial's run is already marked FAILED
        sys.exit(1)
