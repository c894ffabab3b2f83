"""A trained language model and its tokenizer that continue prompts."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import TextStreamer

from seqlab.errors import SeqlabError
from seqlab.inference.generation_options import GenerationOptions
from seqlab.inference.net_builder import load_net, saved_architecture
from seqlab.inference.stepwise_decoding import RecurrentSteps, SlidingWindowSteps, generate_stepwise
from seqlab.models.gpt2_lm import GPT2LanguageModel, context_size
from seqlab.pretrained.transformers_models import is_local, load_causal_lm, load_tokenizer


class TextGenerator:
    """GPT-2 (or any transformers causal LM, through generate() with its key-value cache, and a sliding window
    beyond its context) or seqlab's recurrent model (through stepwise_decoding).

    Saved layouts (what a training run logs as its `model` artifact):
    - transformers: save_pretrained of the model and the tokenizer (config.json, model.safetensors,
      tokenizer.json, ...); from_pretrained(<folder>) loads either back.
    - recurrent: the net saved the Hugging Face way (config.json naming its class, model.safetensors, the
      model card README.md: RNNLanguageModel.from_pretrained(folder) loads it), and the tokenizer's
      save_pretrained files. Only classes defined in seqlab.models are rebuilt: nothing in a folder is run as
      code.
    """

    def __init__(self, model: torch.nn.Module, tokenizer):
        self.model = model.model if isinstance(model, GPT2LanguageModel) else model  # unwrap seqlab's GPT-2
        self.tokenizer = tokenizer

    @property
    def uses_transformers(self) -> bool:
        return hasattr(self.model, "generate") and hasattr(self.model, "config")

    @property
    def context_size(self) -> int | None:
        """Most tokens the model can attend over at once; None: no limit (recurrent)."""
        return context_size(self.model.config) if self.uses_transformers else None

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    # -- loading and saving ----------------------------------------------------------------------------------
    @classmethod
    def load(cls, source: str, option: str = "pretrained") -> TextGenerator:
        """From a saved folder, or a hub name (gpt2, distilgpt2) when no such folder exists."""
        if is_local(str(source)):
            return cls.from_directory(source, option)
        return cls(load_causal_lm(source, option), load_tokenizer(source, option))

    @classmethod
    def from_directory(cls, folder: str | Path, option: str = "pretrained") -> TextGenerator:
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            raise SeqlabError(f"{option}={folder}: no such folder")
        if saved_architecture(folder) is not None:  # seqlab's own net
            net = load_net(folder)
            if not hasattr(net, "forward_with_state"):
                raise SeqlabError(f"{folder} holds a {type(net).__name__}, not a language model; generate "
                                  "from a language-model run (experiment=textgen_rnn or gpt2_*)")
            return cls(net, load_tokenizer(str(folder), option))
        if (folder / "config.json").is_file():
            return cls(load_causal_lm(str(folder), option), load_tokenizer(str(folder), option))
        raise SeqlabError(f"{folder} holds no saved language model (no config.json)")

    def save_pretrained(self, folder: str | Path, card: dict | None = None) -> Path:
        """`card`: what the model card of seqlab's recurrent net records (dataset, license, metrics, command;
        tasks.model_card)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        if self.uses_transformers:
            tok = self.tokenizer
            for config in (self.model.config, self.model.generation_config):
                config.bos_token_id = config.eos_token_id = tok.eos_token_id
                config.pad_token_id = tok.pad_token_id
            self.model.save_pretrained(folder)
        else:
            self.model.save_pretrained(folder, model_card_kwargs=card)  # tied weights once
        self.tokenizer.save_pretrained(folder)
        return folder

    # -- generating ----------------------------------------------------------------------------------------
    def encode_prompt(self, prompt: str) -> torch.Tensor:
        """Prompt ids [1, T]; a prompt longer than the model's context is an error (a longer continuation is
        not: it slides the window)."""
        if prompt is None or not str(prompt):
            raise SeqlabError('the prompt is empty; pass prompt="some text" to continue')
        ids = self.tokenizer.encode(str(prompt), add_special_tokens=False)
        if not ids:
            raise SeqlabError(f"the prompt {prompt!r} encodes to no token; use other text")
        limit = self.context_size
        if limit is not None and len(ids) > limit:
            raise SeqlabError(
                f"the prompt is {len(ids)} tokens long, longer than the model's context of {limit} tokens; "
                f"shorten the prompt to at most {limit} tokens"
            )
        return torch.tensor([ids], device=self.device)

    @torch.no_grad()
    def generate_ids(self, prompt: str, options: GenerationOptions,
                     streamer=None) -> tuple[list[int], list[list[int]]]:
        """The prompt's ids and each continuation's new ids (up to end-of-text, which is kept). A transformers
        model goes through generate() while prompt and continuation fit its context, and through a sliding
        window over its last context-size tokens beyond; the recurrent model carries its state, with no
        limit."""
        options.check()
        input_ids = self.encode_prompt(prompt)
        if options.seed is not None:
            torch.manual_seed(options.seed)
        eos, pad = self.tokenizer.eos_token_id, self.tokenizer.pad_token_id
        pad = eos if pad is None else pad
        self.model.eval()
        limit = self.context_size
        if self.uses_transformers and (limit is None or input_ids.size(1) + options.max_new_tokens <= limit):
            output = self.model.generate(
                input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                generation_config=options.generation_config(eos, pad), streamer=streamer,
            )
        else:
            if self.uses_transformers:
                steps = SlidingWindowSteps(self.model, limit, options.use_cache)
            else:
                steps = RecurrentSteps(self.model)
            output = generate_stepwise(steps, input_ids, options, eos, pad, streamer)
        return input_ids[0].tolist(), [_until_eos(row[input_ids.size(1) :].tolist(), eos) for row in output]

    @staticmethod
    def can_stream(options: GenerationOptions) -> bool:
        """One sequence, without beam search: its text can be printed as it comes."""
        return options.num_beams == 1 and options.num_return_sequences == 1

    def generate(self, prompt: str, options: GenerationOptions, stream: bool = False) -> list[str]:
        """The prompt followed by each continuation. stream=True prints the prompt, then the continuation word
        by word as it comes (transformers' TextStreamer), when it can_stream; the prompt and the options are
        checked before anything is printed."""
        streamer = None
        if stream and self.can_stream(options):
            options.check()
            self.encode_prompt(prompt)  # a prompt too long or empty fails here, not after it was printed
            streamer = TextStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
            print(prompt, end="", flush=True)
        _, continuations = self.generate_ids(prompt, options, streamer)
        return [prompt + self.tokenizer.decode(ids, skip_special_tokens=True) for ids in continuations]


def _until_eos(ids: list[int], eos: int | None) -> list[int]:
    if eos is not None and eos in ids:
        return ids[: ids.index(eos) + 1]
    return ids
