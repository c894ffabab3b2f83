"""seqlab: config-driven experiments for sequence models."""

import os

from omegaconf import OmegaConf

__version__ = "0.1.0"

# ${cwd:} in configs: the folder the command runs from (resolvable before Hydra sets up a job, as sweepers
# need)
OmegaConf.register_new_resolver("cwd", os.getcwd, replace=True)
