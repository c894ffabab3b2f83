"""Greedy search of an encoder-decoder: at each step the most likely next token, for a whole batch at once."""

from __future__ import annotations

import torch

from seqlab.decoding.hypothesis import DEFAULT_LIMITS, Hypothesis, SearchLimits


@torch.no_grad()
def greedy_search(model, src: torch.Tensor, src_mask: torch.Tensor, bos_id: int, eos_id: int,
                  limits: SearchLimits = DEFAULT_LIMITS) -> list[Hypothesis]:
    """src, src_mask [N, S] -> one hypothesis per sentence. `model` has encode() and step()
    (models.seq2seq)."""
    memory, state = model.encode(src, src_mask)
    max_steps = limits.per_sentence(src_mask)
    n = src.size(0)
    previous = torch.full((n,), bos_id, dtype=torch.long, device=src.device)
    words, scores, weights = [], [], []
    done = torch.zeros(n, dtype=torch.bool, device=src.device)
    stops = torch.tensor(max_steps, device=src.device)
    for t in range(max(max_steps)):
        logits, state, step_weights = model.step(previous, state, memory)
        log_probs = logits.float().log_softmax(-1)
        previous = log_probs.argmax(-1)
        words.append(previous)
        scores.append(log_probs.gather(1, previous[:, None])[:, 0])
        weights.append(step_weights)
        done |= (previous == eos_id) | (t + 1 >= stops)
        if bool(done.all()):
            break
    words_t, scores_t = torch.stack(words, 1).tolist(), torch.stack(scores, 1)
    weights_t = torch.stack(weights, 1) if weights[0] is not None else None
    source_lengths = src_mask.sum(1).tolist()
    hypotheses = []
    for i, row in enumerate(words_t):
        ended = eos_id in row[: max_steps[i]]
        steps = row.index(eos_id) + 1 if ended else max_steps[i]
        tokens = row[: steps - 1] if ended else row[:steps]
        attention = None if weights_t is None else weights_t[i, :steps, : source_lengths[i]].cpu()
        hypotheses.append(Hypothesis(tokens, float(scores_t[i, :steps].sum()), attention, ended))
    return hypotheses
