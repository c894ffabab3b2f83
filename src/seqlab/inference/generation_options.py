"""How to continue a prompt: the decoding options of `make generate`, checked once."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from seqlab.errors import SeqlabError

# transformers is imported where used: seqlab.commands.generate imports this module at its top and starts fast


@dataclass
class GenerationOptions:
    """Turned into what transformers' generate() takes (a GenerationConfig), or into transformers' logits
    processors for the models generate() does not drive (the recurrent language model, and text beyond a
    transformers model's context)."""

    max_new_tokens: int = 200  # tokens to add to the prompt (fewer when the end-of-text token comes first)
    min_new_tokens: int = 0  # end-of-text is forbidden before this many new tokens
    # sample; false: the most likely token (greedy, beams); None: unless num_beams > 1
    do_sample: bool | None = None
    temperature: float = 1.0  # > 0; below 1 sharpens the distribution, above 1 flattens it
    top_k: int = 0  # sample among the k most likely tokens only; 0: no limit
    top_p: float = 1.0  # in (0, 1]: sample among the most likely tokens whose probabilities add up to top_p
    no_repeat_ngram_size: int = 0  # no n-gram of this size occurs twice; 0: off
    repetition_penalty: float = 1.0  # > 1 makes tokens already present less likely
    num_beams: int = 1  # beam search with this many hypotheses; 1: none
    num_return_sequences: int = 1  # continuations to return (at most num_beams with beam search)
    seed: int | None = None  # seeds the sampling, so that a run repeats exactly
    use_cache: bool = True  # transformers models: keep earlier tokens' keys and values (false: recompute all)

    @classmethod
    def from_mapping(cls, values: dict) -> GenerationOptions:
        """Options from a config mapping (unknown keys ignored), with types checked and values validated."""
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        try:
            options = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(cls), known))
        except OmegaConfBaseException as err:
            raise SeqlabError(f"{err.msg.splitlines()[0]} (option {err.full_key})") from None
        options.check()
        return options

    @property
    def sampling(self) -> bool:
        """Whether tokens are drawn: do_sample, or (when it is None) whenever there is no beam search."""
        return self.do_sample if self.do_sample is not None else self.num_beams == 1

    def check(self) -> None:
        if self.max_new_tokens < 1:
            raise SeqlabError(f"max_new_tokens={self.max_new_tokens} must be at least 1")
        if not 0 <= self.min_new_tokens <= self.max_new_tokens:
            raise SeqlabError(f"min_new_tokens={self.min_new_tokens} must lie between 0 and max_new_tokens")
        if self.temperature <= 0:
            raise SeqlabError(
                f"temperature={self.temperature} must be above 0; for the most likely token at every step "
                "use do_sample=false"
            )
        if not 0 < self.top_p <= 1:
            raise SeqlabError(f"top_p={self.top_p} must lie in (0, 1]; 1 turns nucleus sampling off")
        if self.top_k < 0:
            raise SeqlabError(f"top_k={self.top_k} must be 0 (off) or a positive number of tokens")
        if self.no_repeat_ngram_size < 0:
            raise SeqlabError(f"no_repeat_ngram_size={self.no_repeat_ngram_size} must be 0 (off) or positive")
        if self.repetition_penalty <= 0:
            raise SeqlabError(f"repetition_penalty={self.repetition_penalty} must be above 0 (1: off)")
        if self.num_beams < 1 or self.num_return_sequences < 1:
            raise SeqlabError("num_beams and num_return_sequences must be at least 1")
        if self.num_beams == 1 and not self.sampling and self.num_return_sequences > 1:
            raise SeqlabError(
                "greedy decoding gives a single continuation; set do_sample=true or num_beams to at least "
                f"num_return_sequences={self.num_return_sequences}"
            )
        if self.num_beams > 1 and self.num_return_sequences > self.num_beams:
            raise SeqlabError(
                f"num_return_sequences={self.num_return_sequences} cannot exceed num_beams={self.num_beams}"
            )

    def as_dict(self) -> dict:
        return asdict(self)

    def generation_config(self, eos_token_id: int | None, pad_token_id: int | None):
        """transformers GenerationConfig for generate(); sampling knobs only when sampling, so that
        transformers has nothing to warn about."""
        from transformers import GenerationConfig

        sampling = {}
        if self.sampling:
            sampling = {"temperature": self.temperature, "top_k": self.top_k, "top_p": self.top_p}
        return GenerationConfig(
            # every value given, 0 included: None would let a saved model's generation_config.json decide
            max_new_tokens=self.max_new_tokens, min_new_tokens=self.min_new_tokens,
            do_sample=self.sampling, num_beams=self.num_beams, num_return_sequences=self.num_return_sequences,
            no_repeat_ngram_size=self.no_repeat_ngram_size, repetition_penalty=self.repetition_penalty,
            eos_token_id=eos_token_id, pad_token_id=pad_token_id, bos_token_id=eos_token_id,
            use_cache=self.use_cache, **sampling,
        )

    def logits_processors(self, prompt_length: int, eos_token_id: int | None):
        """transformers' logits processors in the order generate() applies them: penalties and bans, then
        (when sampling) temperature, top-k and top-p."""
        from transformers import (
            LogitsProcessorList,
            MinNewTokensLengthLogitsProcessor,
            NoRepeatNGramLogitsProcessor,
            RepetitionPenaltyLogitsProcessor,
            TemperatureLogitsWarper,
            TopKLogitsWarper,
            TopPLogitsWarper,
        )

        processors = LogitsProcessorList()
        if self.repetition_penalty != 1.0:
            processors.append(RepetitionPenaltyLogitsProcessor(self.repetition_penalty))
        if self.no_repeat_ngram_size:
            processors.append(NoRepeatNGramLogitsProcessor(self.no_repeat_ngram_size))
        if self.min_new_tokens and eos_token_id is not None:
            processors.append(
                MinNewTokensLengthLogitsProcessor(prompt_length, self.min_new_tokens, eos_token_id)
            )
        if self.sampling:
            keep = 2 if self.num_beams > 1 else 1
            if self.temperature != 1.0:
                processors.append(TemperatureLogitsWarper(self.temperature))
            if self.top_k:
                processors.append(TopKLogitsWarper(self.top_k, min_tokens_to_keep=keep))
            if self.top_p < 1.0:
                processors.append(TopPLogitsWarper(self.top_p, min_tokens_to_keep=keep))
        return processors
