"""How entry points end: a SeqlabError prints one clear line and exits 1; anything else is a bug with a traceback."""

from __future__ import annotations

import math
import sys
import traceback
from collections.abc import Callable

from seqlab.errors import SeqlabError


def run_or_exit(func: Callable, *args, **kwargs):
    """Calls func; a user error ends the process with its message. Inside a sweep, any failure fails only this
    trial (its run is marked FAILED, the sweeper gets NaN) and the sweep goes on."""
    from seqlab.run_context import is_multirun

    try:
        return func(*args, **kwargs)
    except SeqlabError as err:
        print(f"error: {err}", file=sys.stderr)
        if is_multirun():
            return math.nan  # the sweep goes on; the trial's run is already marked FAILED
        sys.exit(1)
    except Exception:
        if not is_multirun():
            raise
        traceback.print_exc()  # a crashing trial must not end the whole sweep
        return math.nan
