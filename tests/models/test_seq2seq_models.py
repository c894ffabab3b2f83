"""The translator's model and searches: attention masks pads, padding changes nothing, the one-call teacher-forced
pass equals step-by-step decoding, beam size 1 is greedy search, and beam search finds likelier translations."""

from __future__ import annotations

import pytest
import torch

from seqlab.data.batching import pad_sequences
from seqlab.decoding.beam_search import beam_search
from seqlab.decoding.greedy_search import greedy_search
from seqlab.decoding.hypothesis import SearchLimits
from seqlab.errors import SeqlabError
from seqlab.models.attention import AdditiveAttention, LuongAttention
from seqlab.models.seq2seq import Seq2Seq

BOS, EOS = 2, 3
SOURCES = [[5, 6, 7, 8, EOS], [9, 10, EOS], [11, 12, 13, 14, 15, 16, 17, EOS], [18, EOS]]
VARIANTS = [
    {"attention": "bahdanau"},
    {"attention": "luong", "luong_score": "general"},
    {"attention": "luong", "luong_score": "dot", "decoder_hidden_size": None},
    {"attention": "luong", "input_feeding": True, "cell": "gru"},
    {"attention": "none"},
    {"attention": "bahdanau", "cell": "gru", "num_layers": 2, "bidirectional": False},
]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(seed: int = 0, **options) -> Seq2Seq:
    torch.manual_seed(seed)
    sizes = {"embed_dim": 16, "hidden_size": 12, "decoder_hidden_size": 20, "attention_dim": 10}
    return Seq2Seq(src_vocab_size=30, tgt_vocab_size=40, **{**sizes, **options}).eval()


def batch():
    return pad_sequences(SOURCES, 0)


@pytest.mark.parametrize("options", [v for v in VARIANTS if v["attention"] != "none"], ids=str)
def test_attention_weights_sum_to_one_over_real_tokens_and_are_zero_on_pads(options):
    src, mask = batch()
    tgt = torch.randint(4, 40, (len(SOURCES), 6))
    tgt[:, 0] = BOS
    _, weights = tiny(**options)(src, mask, tgt)
    assert weights.shape == (len(SOURCES), 6, src.size(1))
    assert torch.allclose(weights.sum(-1), torch.ones(len(SOURCES), 6), atol=1e-6)
    pads = ~mask[:, None, :].expand_as(weights)
    assert pads.any() and torch.all(weights[pads] == 0)
    assert torch.all(weights[~pads] > 0)


@pytest.mark.parametrize("attention", [AdditiveAttention(6, 8, 5), LuongAttention(6, 8, "general")], ids=type)
def test_attention_modules_mask_pads(attention):
    memory, mask = torch.randn(2, 4, 8), torch.tensor([[True, True, False, False], [True, True, True, True]])
    context, weights = attention(torch.randn(2, 3, 6), attention.prepare(memory), memory, mask)
    assert context.shape == (2, 3, 8)
    assert torch.all(weights[0, :, 2:] == 0) and torch.allclose(weights.sum(-1), torch.ones(2, 3))
    assert torch.allclose(context[0], weights[0, :, :2] @ memory[0, :2])


def test_dot_attention_needs_equal_sizes():
    with pytest.raises(SeqlabError, match="luong_score=dot needs decoder states"):
        tiny(attention="luong", luong_score="dot", decoder_hidden_size=20)
    with pytest.raises(SeqlabError, match="dot attention needs decoder and encoder states of one size"):
        LuongAttention(6, 8, "dot")
    with pytest.raises(SeqlabError, match=r"luong_score='cosine' is not a valid choice; choices: dot, general"):
        LuongAttention(6, 8, "cosine")


@pytest.mark.parametrize("options", VARIANTS, ids=str)
def test_teacher_forced_pass_equals_step_by_step_decoding(options):
    model = tiny(**options)
    src, mask = batch()
    tgt = torch.randint(4, 40, (len(SOURCES), 7))
    tgt[:, 0] = BOS
    logits, _ = model(src, mask, tgt)
    memory, state = model.encode(src, mask)
    steps = []
    for t in range(tgt.size(1)):
        step_logits, state, _ = model.step(tgt[:, t], state, memory)
        steps.append(step_logits)
    assert torch.allclose(torch.stack(steps, 1), logits, atol=1e-5)


@pytest.mark.parametrize("options", VARIANTS, ids=str)
def test_beam_size_one_is_greedy_search(options):
    model = tiny(seed=3, **options)
    src, mask = batch()
    greedy = greedy_search(model, src, mask, BOS, EOS)
    beam = beam_search(model, src, mask, BOS, EOS, beam_size=1, alpha=0.6)
    assert [h.tokens for h in beam] == [h.tokens for h in greedy]
    assert [h.ended for h in beam] == [h.ended for h in greedy]  # stopped at <eos>, or at the length limit
    assert any(len(h.tokens) > 1 for h in greedy)
    for b, g in zip(beam, greedy, strict=True):
        if g.attention is not None:
            assert torch.allclose(b.attention, g.attention)
    raw = beam_search(model, src, mask, BOS, EOS, beam_size=1, alpha=0.0)  # no length penalty: log-probabilities
    assert [h.score for h in raw] == pytest.approx([h.score for h in greedy], abs=1e-4)


@pytest.mark.parametrize("options", VARIANTS, ids=str)
def test_padding_never_changes_a_translation(options):
    model = tiny(seed=1, **options)
    src, mask = batch()
    searches = (lambda s, m: greedy_search(model, s, m, BOS, EOS), lambda s, m: beam_search(model, s, m, BOS, EOS, 3))
    for search in searches:
        together = search(src, mask)
        for sentence, hypothesis in zip(SOURCES, together, strict=True):
            alone = search(*pad_sequences([sentence], 0))[0]
            assert alone.tokens == hypothesis.tokens
            assert alone.score == pytest.approx(hypothesis.score, abs=1e-4)
            if options["attention"] == "none":
                assert alone.attention is None and hypothesis.attention is None
            else:
                assert torch.allclose(alone.attention, hypothesis.attention, atol=1e-5)
                assert hypothesis.attention.shape[1] == len(sentence)


def test_beam_search_finds_at_least_as_likely_translations_without_a_length_penalty():
    model = tiny(seed=2)
    src, mask = batch()
    limits = SearchLimits(max_len_a=0.0, max_len_b=6)  # short limits: the search space is small
    greedy = greedy_search(model, src, mask, BOS, EOS, limits)
    beam = beam_search(model, src, mask, BOS, EOS, beam_size=8, alpha=0.0, limits=limits)
    assert all(b.score >= g.score - 1e-5 for b, g in zip(beam, greedy, strict=True))
    assert any(b.tokens != g.tokens for b, g in zip(beam, greedy, strict=True))


def test_translations_respect_the_length_limit():
    model = tiny(seed=4)
    src, mask = batch()
    limits = SearchLimits(max_len_a=1.0, max_len_b=1)
    for search in (greedy_search(model, src, mask, BOS, EOS, limits),
                   beam_search(model, src, mask, BOS, EOS, 3, 0.6, limits)):
        for sentence, hypothesis in zip(SOURCES, search, strict=True):
            assert len(hypothesis.tokens) <= len(sentence) + 1


def test_teacher_forcing_below_one_feeds_predictions_while_training():
    model = tiny(seed=5, dropout=0.0, teacher_forcing_ratio=0.0).train()
    src, mask = batch()
    tgt = torch.randint(4, 40, (len(SOURCES), 6))
    tgt[:, 0] = BOS
    free_running, _ = model(src, mask, tgt)
    model.teacher_forcing_ratio = 1.0
    forced, _ = model(src, mask, tgt)
    assert torch.allclose(free_running[:, 0], forced[:, 0], atol=1e-6)  # the first step sees <bos> either way
    assert not torch.allclose(free_running[:, 1:], forced[:, 1:])
    model.eval()
    model.teacher_forcing_ratio = 0.0
    assert torch.allclose(model(src, mask, tgt)[0], forced, atol=1e-5)  # evaluation is always teacher-forced


def test_tied_output_layer_shares_the_target_embedding():
    model = tiny(tie_embeddings=True)
    assert model.out.weight is model.tgt_embedding.weight
    untied = tiny(tie_embeddings=False)
    assert untied.out.weight.data_ptr() != untied.tgt_embedding.weight.data_ptr()
