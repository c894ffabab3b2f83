"""`make generate`: continue a prompt with a language model from a run, a registry, a folder or the hub."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from seqlab.errors import SeqlabError
from seqlab.inference.generation_options import GenerationOptions
from seqlab.inference.text_generator import TextGenerator
from seqlab.tracking.model_loading import load_run_predictor
from seqlab.tracking.registry import chosen_run


def load_generator(cfg: DictConfig):
    if bool(cfg.run_id or cfg.model_uri) == bool(cfg.pretrained):
        raise SeqlabError("pass exactly one of run_id=<MLflow run id>, model=models:/<name>@<alias> or "
                          "pretrained=<saved folder or hub name, e.g. gpt2>")
    if cfg.pretrained:
        return TextGenerator.load(str(cfg.pretrained), "pretrained")
    run_id = chosen_run(cfg.tracking_uri, cfg.run_id, cfg.model_uri)
    return load_run_predictor(cfg.tracking_uri, run_id, "generator",
                              "language model; pass the run id of a language-model run (textgen_rnn, gpt2_*)")


def read_prompt(cfg: DictConfig) -> str:
    if cfg.prompt is not None and cfg.prompt_file:
        raise SeqlabError("pass either prompt=... or prompt_file=<path>, not both")
    if not cfg.prompt_file:
        return "" if cfg.prompt is None else str(cfg.prompt)
    path = Path(str(cfg.prompt_file)).expanduser()
    if not path.is_file():
        raise SeqlabError(f"prompt_file {path} does not exist")
    try:
        return path.read_bytes().decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        raise SeqlabError(
            f"prompt_file {path}: bytes that are not UTF-8 at byte {err.start}; save it as UTF-8") from None


def generate(cfg: DictConfig) -> list[str]:
    """The generated texts; one sequence streams to the terminal word by word, several print when done."""
    prompt = read_prompt(cfg)
    if not prompt:
        raise SeqlabError('the prompt is empty; pass prompt="some text" to continue')
    options = GenerationOptions.from_mapping(OmegaConf.to_container(cfg, resolve=True))
    generator = load_generator(cfg)
    streamed = cfg.stream and generator.can_stream(options)
    texts = generator.generate(prompt, options, stream=bool(cfg.stream))
    if not streamed:
        for number, text in enumerate(texts, start=1):
            if len(texts) > 1:
                print(f"--- sequence {number} ---")
            print(text)
    return texts
