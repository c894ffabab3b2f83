"""Continue a prompt:  python pipelines/generate.py run_id=<id> prompt="ROMEO:" max_new_tokens=200"""

import sys

import hydra
from omegaconf import DictConfig

from seqlab.commands.cli import model_option_as_model_uri, run_or_exit


@hydra.main(version_base="1.3", config_path="../conf", config_name="generate")
def main(cfg: DictConfig) -> None:
    from seqlab.commands.generate import generate

    run_or_exit(generate, cfg)


if __name__ == "__main__":
    sys.argv = model_option_as_model_uri(sys.argv)
    main()
