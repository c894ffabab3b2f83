"""How entry points read their options and end: a SeqlabError prints one clear line and exits 1."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from seqlab.config.hydra_context import is_multirun
from seqlab.errors import SeqlabError

MODEL_URI_KEY = "model_uri"  # predict, generate, translate and ner: a registered model's models:/ URI


def model_option_as_model_uri(argv: list[str]) -> list[str]:
    """`model=models:/<name>@<alias>` on the command line of predict, generate, translate and ner, passed on
    as model_uri=...: Hydra reads a key named after a config group (conf/model/) as a choice in that group."""
    return [f"{MODEL_URI_KEY}={arg.partition('=')[2]}" if arg.startswith("model=") else arg for arg in argv]


def run_or_exit(func: Callable, *args, **kwargs):
    """Calls func; a user error ends the process with its message. Inside a sweep, any failure fails only this
    trial: its run is marked FAILED and the sweeper gets no value (None), which Optuna's sweeper records as a
    failed trial (a NaN it would refuse, ending the sweep) and the grid sweeper ignores; the sweep goes on."""
    try:
        return func(*args, **kwargs)
    except SeqlabError as err:
        print(f"error: {err}", file=sys.stderr)
        if is_multirun():
            return None  # the sweep goes on; the trial's run is already marked FAILED
        sys.exit(1)
    except SystemExit as err:
        if err.code is None and type(err).__name__ == "SIGTERMException":
            sys.exit(128 + 15)  # stopped by SIGTERM: say so in the exit status, as an unhandled SIGTERM would
        raise
    except Exception:
        if not is_multirun():
            raise
        traceback.print_exc()  # a crashing trial must not end the whole sweep
        return None


def parse_options(schema: type, args: list[str]):
    """key=value arguments onto a dataclass of defaults; an unknown key or a bad value is a SeqlabError."""
    base = OmegaConf.structured(schema)
    try:
        return OmegaConf.to_object(OmegaConf.merge(base, OmegaConf.from_dotlist(args)))
    except OmegaConfBaseException as err:
        options = ", ".join(base.keys())
        raise SeqlabError(f"{err.msg.splitlines()[0]}; options: {options} (as key=value)") from None
