"""Beam search for a whole batch: beam_size hypotheses per sentence, ranked by log-probability divided by a length
penalty. A hypothesis that emits <eos> among the step's best beam_size candidates is finished; a sentence is done
when it has beam_size finished hypotheses or reaches its length limit (its open hypotheses are then finished as
they are). With beam_size 1 this is exactly greedy search.
"""

from __future__ import annotations

import torch

from seqlab.decoding.hypothesis import DEFAULT_LIMITS, Hypothesis, SearchLimits, length_penalty


@torch.no_grad()
def beam_search(model, src: torch.Tensor, src_mask: torch.Tensor, bos_id: int, eos_id: int, beam_size: int = 5,
                alpha: float = 0.6, limits: SearchLimits = DEFAULT_LIMITS) -> list[Hypothesis]:
    """src, src_mask [N, S] -> the best hypothesis per sentence. `model` has encode() and step()."""
    if beam_size < 1:
        raise ValueError("beam_size must be at least 1")
    n, k, device = src.size(0), beam_size, src.device
    memory, state = model.encode(src, src_mask)
    expand = torch.arange(n, device=device).repeat_interleave(k)
    memory, state = memory.select(expand), state.select(expand)
    max_steps = limits.per_sentence(src_mask)
    source_lengths = src_mask.sum(1).tolist()
    scores = torch.full((n, k), float("-inf"), device=device)
    scores[:, 0] = 0.0  # one live hypothesis per sentence at the start
    tokens = torch.full((n * k, 1), bos_id, dtype=torch.long, device=device)
    attention: torch.Tensor | None = None  # [n * k, steps, S]
    finished: list[list[Hypothesis]] = [[] for _ in range(n)]
    done = [False] * n
    sentence_base = (torch.arange(n, device=device) * k)[:, None]

    def finish(sentence: int, words: list[int], weights: torch.Tensor | None, score: float, steps: int) -> None:
        attention_rows = None if weights is None else weights[:steps, : source_lengths[sentence]].cpu()
        finished[sentence].append(Hypothesis(words, score / length_penalty(steps, alpha), attention_rows))

    for t in range(max(max_steps)):
        logits, state, weights = model.step(tokens[:, -1], state, memory)
        log_probs = logits.float().log_softmax(-1)
        vocab = log_probs.size(-1)
        history = None
        if weights is not None:
            history = weights[:, None] if attention is None else torch.cat([attention, weights[:, None]], 1)
        candidates = (scores.view(-1, 1) + log_probs).view(n, k * vocab)
        top_scores, top_index = candidates.topk(min(2 * k, k * vocab), dim=1)
        origin = top_index // vocab + sentence_base  # row of the hypothesis each candidate extends
        word = top_index % vocab
        is_eos = word == eos_id
        for b, j in (is_eos[:, :k] & top_scores[:, :k].isfinite()).nonzero().tolist():
            if not done[b]:
                row = int(origin[b, j])
                finish(b, tokens[row, 1:].tolist(), None if history is None else history[row],
                       float(top_scores[b, j]), t + 1)
        live_scores, pick = top_scores.masked_fill(is_eos, float("-inf")).topk(k, dim=1)
        rows = origin.gather(1, pick).view(-1)
        tokens = torch.cat([tokens[rows], word.gather(1, pick).view(-1, 1)], 1)
        attention = None if history is None else history[rows]
        state = state.select(rows)
        scores = live_scores
        for b in range(n):
            if done[b]:
                continue
            if len(finished[b]) >= k:
                done[b] = True
            elif t + 1 >= max_steps[b]:
                for j in range(k):
                    if torch.isfinite(scores[b, j]):
                        row = b * k + j
                        finish(b, tokens[row, 1:].tolist(), None if attention is None else attention[row],
                               float(scores[b, j]), t + 1)
                done[b] = True
        if all(done):
            break
    return [max(hypotheses, key=lambda h: h.score) for hypotheses in finished]

