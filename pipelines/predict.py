"""Classify texts:  python pipelines/predict.py run_id=<id> text="I love this movie" """

import sys

import hydra
from omegaconf import DictConfig

from seqlab.commands.cli import model_option_as_model_uri, run_or_exit


@hydra.main(version_base="1.3", config_path="../conf", config_name="predict")
def main(cfg: DictConfig) -> None:
    from seqlab.commands.predict import predict

    run_or_exit(predict, cfg)


if __name__ == "__main__":
    sys.argv = model_option_as_model_uri(sys.argv)
    main()
