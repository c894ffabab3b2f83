"""hydra.utils.instantiate, with a constructor's complaint about a config value surfaced as a SeqlabError
that names the config node, instead of a wrapped traceback."""

from __future__ import annotations

from hydra.errors import InstantiationException
from hydra.utils import instantiate as hydra_instantiate

from seqlab.errors import SeqlabError


def instantiate(config, **kwargs):
    try:
        return hydra_instantiate(config, **kwargs)
    except InstantiationException as err:
        cause = err.__cause__
        if isinstance(cause, SeqlabError):
            raise cause from None
        where = getattr(config, "_target_", "config")
        raise SeqlabError(f"cannot build {where} from the config: {type(cause).__name__}: {cause}") from cause
