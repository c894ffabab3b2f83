"""Train a model:  python pipelines/train.py [experiment=<preset>] [key=value ...]"""

import hydra
from omegaconf import DictConfig

from seqlab.commands.cli import run_or_exit


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> float:
    from seqlab.commands.train import train

    return run_or_exit(train, cfg)


if __name__ == "__main__":
    main()
