"""Translate texts:  python pipelines/translate.py run_id=<id> text="A man is riding a bike." """

import sys

import hydra
from omegaconf import DictConfig

from seqlab.commands.cli import model_option_as_model_uri, run_or_exit


@hydra.main(version_base="1.3", config_path="../conf", config_name="translate")
def main(cfg: DictConfig) -> None:
    from seqlab.commands.translate import translate

    run_or_exit(translate, cfg)


if __name__ == "__main__":
    sys.argv = model_option_as_model_uri(sys.argv)
    main()
