"""Named entities:  python pipelines/ner.py [run_id=<id>] text="Apple is looking at buying U.K. startup" """

import sys

import hydra
from omegaconf import DictConfig

from seqlab.commands.cli import model_option_as_model_uri, run_or_exit


@hydra.main(version_base="1.3", config_path="../conf", config_name="ner")
def main(cfg: DictConfig) -> None:
    from seqlab.commands.recognize import recognize

    run_or_exit(recognize, cfg)


if __name__ == "__main__":
    sys.argv = model_option_as_model_uri(sys.argv)
    main()
