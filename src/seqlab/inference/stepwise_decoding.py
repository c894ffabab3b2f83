"""Decoding a language model one step at a time, where transformers' generate() does not drive it."""

from __future__ import annotations

import torch

from seqlab.decoding.beam_search import search
from seqlab.inference.generation_options import GenerationOptions


class RecurrentSteps:
    """models.rnn_lm: the prompt once, then one token at a time from the carried state (a hidden state instead
    of a key-value cache, and no context limit)."""

    def __init__(self, model):
        self.model = model

    def step(self, tokens: torch.Tensor, state):
        logits, state = self.model.forward_with_state(tokens if state is None else tokens[:, -1:], state)
        return logits[:, -1], state, None

    def select(self, state, rows: torch.Tensor):
        return self.model.select_state(state, rows)


class SlidingWindowSteps:
    """A transformers causal LM that reads at most the last `context` tokens. While the whole text fits, the
    key-value cache holds the earlier tokens; once the window slides every position shifts, the cache no
    longer matches, and each step reads the whole window again."""

    def __init__(self, model, context: int, use_cache: bool = True):
        self.model, self.context, self.use_cache = model, context, use_cache

    def step(self, tokens: torch.Tensor, cache):
        if tokens.size(1) > self.context or not self.use_cache:
            return self.model(input_ids=tokens[:, -self.context :], use_cache=False).logits[:, -1], None, None
        if cache is None:
            output = self.model(input_ids=tokens, use_cache=True)
        else:
            output = self.model(input_ids=tokens[:, -1:], cache=cache, use_cache=True)
        return output.logits[:, -1], output.cache, None

    def select(self, cache, rows: torch.Tensor):
        if cache is not None:
            cache.reorder_cache(rows)
        return cache


@torch.no_grad()
def generate_stepwise(steps, input_ids: torch.Tensor, options: GenerationOptions, eos_token_id: int | None,
                      pad_token_id: int, streamer=None) -> torch.Tensor:
    """input_ids [1, T] (one prompt) -> [num_return_sequences, T + new] token ids; rows that ended are
    padded.

    For seqlab's recurrent model, and for a transformers model asked for more tokens than its context holds
    (SlidingWindowSteps). Greedy, sampling, beam search and beam sampling (the one beam search of
    seqlab.decoding), over transformers' own logits processors (temperature, top-k, top-p, repetition penalty,
    no-repeat n-grams, minimum length), with end-of-text handling and a transformers streamer, as generate()
    has them. The processors always see the whole text, prompt included, whatever the window.
    """
    processors = options.logits_processors(input_ids.size(1), eos_token_id)
    if options.num_beams > 1:
        return _beam_search(steps, input_ids, options, processors, eos_token_id, pad_token_id)
    ids, state = input_ids.repeat(options.num_return_sequences, 1), None
    finished = torch.zeros(len(ids), dtype=torch.bool, device=ids.device)
    if streamer is not None:
        streamer.put(input_ids[0].cpu())
    for _ in range(options.max_new_tokens):
        logits, state, _ = steps.step(ids, state)
        scores = processors(ids, logits.float())
        if options.sampling:
            tokens = torch.multinomial(scores.softmax(-1), 1).squeeze(1)
        else:
            tokens = scores.argmax(-1)
        tokens = torch.where(finished, torch.full_like(tokens, pad_token_id), tokens)
        ids = torch.cat([ids, tokens[:, None]], dim=1)
        if streamer is not None:
            streamer.put(tokens.cpu())
        if eos_token_id is not None:
            finished |= tokens == eos_token_id
            if finished.all():
                break
    if streamer is not None:
        streamer.end()
    return ids


def _beam_search(steps, input_ids: torch.Tensor, options: GenerationOptions, processors,
                 eos_token_id: int | None, pad_token_id: int) -> torch.Tensor:
    """The num_return_sequences best of num_beams hypotheses, ranked (as generate() ranks them) by
    log-probability per new token; with sampling the candidates of each step are drawn from the processed
    distribution."""
    beams = options.num_beams
    [found] = search(steps, input_ids.repeat(beams, 1), None, beams, eos_token_id, [options.max_new_tokens],
                     lambda length: float(length), processors, sample=options.sampling)
    prompt = input_ids[0].tolist()
    returned = found[: options.num_return_sequences]
    best = [prompt + h.tokens + ([eos_token_id] if h.ended else []) for h in returned]
    best = best or [prompt]  # nothing the processors allowed
    out = torch.full((len(best), max(len(seq) for seq in best)), pad_token_id, dtype=torch.long,
                     device=input_ids.device)
    for row, seq in enumerate(best):
        out[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
    return out
