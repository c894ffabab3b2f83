"""Decoding for language models that transformers' generate() does not drive (the recurrent model, which carries
a hidden state instead of a key-value cache): greedy, sampling, beam search and beam sampling, over transformers'
own logits processors (temperature, top-k, top-p, repetition penalty, no-repeat n-grams, minimum length), with
end-of-text handling and a transformers streamer, as generate() has them."""

from __future__ import annotations

import torch

from seqlab.inference.generation_options import GenerationOptions


@torch.no_grad()
def recurrent_generate(model, input_ids: torch.Tensor, options: GenerationOptions, eos_token_id: int | None,
                       pad_token_id: int, streamer=None) -> torch.Tensor:
    """input_ids [1, T] (one prompt) -> [num_return_sequences, T + new] token ids; ended rows padded."""
    if options.num_beams > 1:
        return _beam_search(model, input_ids, options, eos_token_id, pad_token_id)
    processors = options.logits_processors(input_ids.size(1), eos_token_id)
    ids = input_ids.repeat(options.num_return_sequences, 1)
    logits, state = model.forward_with_state(ids)
    finished = torch.zeros(len(ids), dtype=torch.bool, device=ids.device)
    if streamer is not None:
        streamer.put(input_ids[0].cpu())
    for step in range(options.max_new_tokens):
        scores = processors(ids, logits[:, -1].float())
        if options.do_sample:
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
        if step + 1 < options.max_new_tokens:
            logits, state = model.forward_with_state(tokens[:, None], state)
    if streamer is not None:
        streamer.end()
    return ids


def _beam_search(model, input_ids: torch.Tensor, options: GenerationOptions, eos_token_id: int | None,
                 pad_token_id: int) -> torch.Tensor:
    """Keeps the num_beams most likely continuations (by summed log-probability); a hypothesis that writes
    end-of-text is set aside, scored by its log-probability per new token. With do_sample the candidates are drawn
    from the processed distribution instead of taken best first."""
    beams, prompt_length = options.num_beams, input_ids.size(1)
    processors = options.logits_processors(prompt_length, eos_token_id)
    logits, state = model.forward_with_state(input_ids)
    state = model.select_state(state, torch.zeros(beams, dtype=torch.long, device=input_ids.device))
    last = logits[:, -1].float().expand(beams, -1)
    ids = input_ids.repeat(beams, 1)
    scores = torch.full((beams,), float("-inf"), device=input_ids.device)
    scores[0] = 0.0  # all beams start as the same prompt: expand the first only
    done: list[tuple[float, torch.Tensor]] = []
    for step in range(options.max_new_tokens):
        candidates = processors(ids, torch.log_softmax(last, -1)) + scores[:, None]
        flat = candidates.view(-1)
        if options.do_sample:
            alive = int(torch.isfinite(flat).sum())  # top-k / top-p may leave fewer than 2 * beams candidates
            picked = torch.multinomial(flat.softmax(-1), min(2 * beams, alive))
            picked = picked[flat[picked].argsort(descending=True)]
        else:
            picked = flat.topk(2 * beams).indices
        vocab = candidates.size(-1)
        keep_rows, keep_tokens, keep_scores = [], [], []
        for rank, index in enumerate(picked.tolist()):
            row, token, score = index // vocab, index % vocab, float(flat[index])
            if score == float("-inf"):
                continue
            if eos_token_id is not None and token == eos_token_id:
                if rank < beams:
                    done.append((score / (step + 1), torch.cat([ids[row], ids.new_tensor([token])])))
                continue
            keep_rows.append(row)
            keep_tokens.append(token)
            keep_scores.append(score)
            if len(keep_rows) == beams:
                break
        if len(done) >= beams or not keep_rows:
            break
        rows = torch.tensor(keep_rows, device=ids.device)
        tokens = torch.tensor(keep_tokens, device=ids.device)
        ids = torch.cat([ids[rows], tokens[:, None]], dim=1)
        scores = torch.tensor(keep_scores, device=ids.device)
        if len(keep_rows) < beams:  # fewer live candidates than beams: repeat the last, never chosen again
            pad = beams - len(keep_rows)
            ids = torch.cat([ids, ids[-1:].repeat(pad, 1)])
            scores = torch.cat([scores, scores.new_full((pad,), float("-inf"))])
            rows = torch.cat([rows, rows[-1:].repeat(pad)])
        state = model.select_state(state, rows)
        if step + 1 < options.max_new_tokens:
            logits, state = model.forward_with_state(ids[:, -1:], state)
            last = logits[:, -1].float()
    generated = ids.size(1) - prompt_length
    done += [(float(s) / max(generated, 1), ids[i]) for i, s in enumerate(scores) if s > float("-inf")]
    best = [seq for _, seq in sorted(done, key=lambda pair: -pair[0])[: options.num_return_sequences]]
    width = max(len(seq) for seq in best)
    out = torch.full((len(best), width), pad_token_id, dtype=torch.long, device=input_ids.device)
    for row, seq in enumerate(best):
        out[row, : len(seq)] = seq
    return out
