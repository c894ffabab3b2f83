"""Beam search, one for every model that decodes step by step: the translator (after its encoder) and the
language models (after the prompt, where transformers' generate() does not drive them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import torch

from seqlab.decoding.hypothesis import DEFAULT_LIMITS, Hypothesis, SearchLimits, length_penalty
from seqlab.errors import SeqlabError


class Steps(Protocol):
    """A model decoding one token at a time, for N rows at once."""

    def step(self, tokens: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any, torch.Tensor | None]:
        """tokens [N, t] (each row's whole history) -> (next-token logits [N, V], new state, attention [N, S]
        or None)."""

    def select(self, state: Any, rows: torch.Tensor) -> Any:
        """The state of the given rows, in that order (hypotheses are reordered at every step)."""


class EncoderDecoderSteps:
    """The translator's decoder over one encoded batch (models.seq2seq: encode() and step())."""

    def __init__(self, model, memory):
        self.model, self.memory = model, memory

    def step(self, tokens: torch.Tensor, state):
        return self.model.step(tokens[:, -1], state, self.memory)

    def select(self, state, rows: torch.Tensor):
        return state.select(rows)


@torch.no_grad()
def beam_search(model, src: torch.Tensor, src_mask: torch.Tensor, bos_id: int, eos_id: int,
                beam_size: int = 5, alpha: float = 0.6,
                limits: SearchLimits = DEFAULT_LIMITS) -> list[Hypothesis]:
    """src, src_mask [N, S] -> the best translation per sentence. `model` has encode() and step()."""
    if beam_size < 1:
        raise SeqlabError(f"beam_size={beam_size} must be at least 1")
    n, device = src.size(0), src.device
    memory, state = model.encode(src, src_mask)
    expand = torch.arange(n, device=device).repeat_interleave(beam_size)
    memory, state = memory.select(expand), state.select(expand)
    tokens = torch.full((n * beam_size, 1), bos_id, dtype=torch.long, device=device)
    found = search(EncoderDecoderSteps(model, memory), tokens, state, beam_size, eos_id,
                   limits.per_sentence(src_mask), lambda length: length_penalty(length, alpha),
                   source_lengths=src_mask.sum(1).tolist())
    return [hypotheses[0] for hypotheses in found]


@torch.no_grad()
def search(steps: Steps, tokens: torch.Tensor, state, beam_size: int, eos_id: int | None,
           max_steps: list[int], penalty: Callable[[int], float], processors=None, sample: bool = False,
           source_lengths: list[int] | None = None) -> list[list[Hypothesis]]:
    """Beam search over `steps`, for n sentences at once.

    Each sentence keeps beam_size hypotheses, ranked by log-probability; a hypothesis that emits <eos> among
    the step's best beam_size candidates is finished, scored by its log-probability divided by
    penalty(length); a sentence is done when it has beam_size finished hypotheses or reaches its length limit
    (its open hypotheses are then finished as they are). With beam_size 1 and no processors it picks the
    tokens greedy search picks (only its scores differ: they are divided by the penalty).

    tokens [n * beam_size, p]: each sentence's prefix (<bos>, or a prompt) on beam_size rows; state: the
    model's state for those rows (None: the steps make it from the prefix). processors(tokens, log_probs) ->
    log_probs changes each step's scores (transformers' logits processors: repetition penalty, n-gram bans,
    temperature, top-k...); sample draws the candidates from the distribution instead of taking them best
    first (beam sampling). Returns each sentence's finished hypotheses (tokens after the prefix, <eos> left
    out), best first; attention rows are cut to source_lengths."""
    k, prefix, device = beam_size, tokens.size(1), tokens.device
    n = tokens.size(0) // k
    scores = torch.full((n, k), float("-inf"), device=device)
    scores[:, 0] = 0.0  # all of a sentence's rows hold the same prefix: expand the first only
    attention: torch.Tensor | None = None  # [n * k, steps, S]
    finished: list[list[Hypothesis]] = [[] for _ in range(n)]
    done = [False] * n
    sentence_base = (torch.arange(n, device=device) * k)[:, None]

    def finish(sentence: int, sequence: torch.Tensor, weights: torch.Tensor | None, score: float, steps: int,
               ended: bool) -> None:
        attention_rows = None
        if weights is not None:
            attention_rows = weights[:steps, : source_lengths[sentence] if source_lengths else None].cpu()
        hypothesis = Hypothesis(sequence[prefix:].tolist(), score / penalty(steps), attention_rows, ended)
        finished[sentence].append(hypothesis)

    for t in range(max(max_steps)):
        logits, state, weights = steps.step(tokens, state)
        log_probs = logits.float().log_softmax(-1)
        if processors is not None:
            log_probs = processors(tokens, log_probs)
        vocab = log_probs.size(-1)
        history = None
        if weights is not None:
            history = weights[:, None] if attention is None else torch.cat([attention, weights[:, None]], 1)
        candidates = (scores.view(-1, 1) + log_probs).view(n, k * vocab)
        top_scores, top_index = _candidates(candidates, 2 * k, sample)
        origin = top_index // vocab + sentence_base  # row of the hypothesis each candidate extends
        word = top_index % vocab
        is_eos = word == eos_id if eos_id is not None else torch.zeros_like(word, dtype=torch.bool)
        for b, j in (is_eos[:, :k] & top_scores[:, :k].isfinite()).nonzero().tolist():
            if not done[b]:
                row = int(origin[b, j])
                weights_row = None if history is None else history[row]
                finish(b, tokens[row], weights_row, float(top_scores[b, j]), t + 1, True)
        live_scores, pick = top_scores.masked_fill(is_eos, float("-inf")).topk(k, dim=1)
        rows = origin.gather(1, pick).view(-1)
        tokens = torch.cat([tokens[rows], word.gather(1, pick).view(-1, 1)], 1)
        attention = None if history is None else history[rows]
        state = steps.select(state, rows)
        scores = live_scores
        for b in range(n):
            if done[b]:
                continue
            if len(finished[b]) >= k or not bool(scores[b].isfinite().any()):
                done[b] = True
            elif t + 1 >= max_steps[b]:
                for j in range(k):
                    if torch.isfinite(scores[b, j]):
                        row = b * k + j
                        weights_row = None if attention is None else attention[row]
                        finish(b, tokens[row], weights_row, float(scores[b, j]), t + 1, False)
                done[b] = True
        if all(done):
            break
    return [sorted(hypotheses, key=lambda h: -h.score) for hypotheses in finished]


def _candidates(candidates: torch.Tensor, width: int, sample: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Each sentence's `width` candidates [n, width], best first: the most likely, or drawn from the
    distribution (fewer where fewer are possible, the rest filled with -inf)."""
    width = min(width, candidates.size(1))
    if not sample:
        return candidates.topk(width, dim=1)
    possible = int(candidates.isfinite().sum(1).min())
    probs = candidates.softmax(-1).nan_to_num(1.0)  # a sentence with no candidate left draws -inf ones
    index = torch.multinomial(probs, max(1, min(width, possible)))
    picked, order = candidates.gather(1, index).sort(1, descending=True)
    index = index.gather(1, order)
    missing = width - index.size(1)
    if missing:
        picked = torch.cat([picked, picked.new_full((picked.size(0), missing), float("-inf"))], 1)
        index = torch.cat([index, index[:, :1].expand(-1, missing)], 1)
    return picked, index
