"""The Transformer translator: the causal mask (a prefix's outputs never see later target tokens), step-by-step
decoding equal to the teacher-forced pass, beam size 1 equal to greedy search, padding that changes nothing, and a
run through the translation task with BLEU, heatmaps and a bundle that translates."""

from __future__ import annotations

import pytest
import torch

from seqlab.commands.train import train
from seqlab.data.batching import pad_sequences
from seqlab.decoding.beam_search import beam_search
from seqlab.decoding.greedy_search import greedy_search
from seqlab.models.transformer_seq2seq import TransformerSeq2Seq

from conftest import write_multi30k_layout

BOS, EOS = 2, 3
SOURCES = [[5, 6, 7, 8, EOS], [9, 10, EOS], [11, 12, 13, 14, 15, 16, 17, EOS], [18, EOS]]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(seed: int = 0, **options) -> TransformerSeq2Seq:
    torch.manual_seed(seed)
    sizes = {"embed_dim": 16, "num_heads": 4, "num_layers": 2, "hidden_size": 24, "max_positions": 64,
             "dropout": 0.0}
    return TransformerSeq2Seq(src_vocab_size=30, tgt_vocab_size=40, **{**sizes, **options}).eval()


def targets(length: int, seed: int = 0) -> torch.Tensor:
    tgt = torch.randint(4, 40, (len(SOURCES), length), generator=torch.Generator().manual_seed(seed))
    tgt[:, 0] = BOS
    return tgt


@pytest.mark.parametrize("positions", ["sinusoidal", "learned"])
def test_a_prefix_never_sees_the_target_tokens_after_it(positions):
    model = tiny(positions=positions)
    src, mask = pad_sequences(SOURCES, 0)
    tgt = targets(7)
    changed = tgt.clone()
    changed[:, 4:] = targets(7, seed=1)[:, 4:]
    before, _ = model(src, mask, tgt)
    after, _ = model(src, mask, changed)
    torch.testing.assert_close(before[:, :4], after[:, :4])
    assert not torch.allclose(before[:, 4:], after[:, 4:])  # the later positions do read them


@pytest.mark.parametrize("tie", [True, False])
def test_teacher_forced_pass_equals_step_by_step_decoding(tie):
    model = tiny(tie_embeddings=tie)
    src, mask = pad_sequences(SOURCES, 0)
    tgt = targets(7)
    logits, weights = model(src, mask, tgt, return_attention=True)
    memory, state = model.encode(src, mask)
    steps, step_weights = [], []
    for t in range(tgt.size(1)):
        step_logits, state, attention = model.step(tgt[:, t], state, memory)
        assert state.length == t + 1  # each step feeds its one new token against the cached prefix
        steps.append(step_logits)
        step_weights.append(attention)
    torch.testing.assert_close(torch.stack(steps, 1), logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(torch.stack(step_weights, 1), weights, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(len(SOURCES), 7))  # over the real source tokens
    assert torch.all(weights[~mask[:, None, :].expand_as(weights)] == 0)


def test_beam_size_one_is_greedy_search():
    model = tiny(seed=3)
    src, mask = pad_sequences(SOURCES, 0)
    greedy = greedy_search(model, src, mask, BOS, EOS)
    beam = beam_search(model, src, mask, BOS, EOS, beam_size=1, alpha=0.0)
    assert [h.tokens for h in beam] == [h.tokens for h in greedy]
    assert [h.ended for h in beam] == [h.ended for h in greedy]
    assert any(len(h.tokens) > 1 for h in greedy)
    assert [h.score for h in beam] == pytest.approx([h.score for h in greedy], abs=1e-4)
    for b, g in zip(beam, greedy, strict=True):
        torch.testing.assert_close(b.attention, g.attention)


def test_padding_never_changes_a_translation():
    model = tiny(seed=1)
    src, mask = pad_sequences(SOURCES, 0)
    together = beam_search(model, src, mask, BOS, EOS, 3)
    for sentence, hypothesis in zip(SOURCES, together, strict=True):
        alone = beam_search(model, *pad_sequences([sentence], 0), BOS, EOS, 3)[0]
        assert alone.tokens == hypothesis.tokens
        assert alone.score == pytest.approx(hypothesis.score, abs=1e-4)
        torch.testing.assert_close(alone.attention, hypothesis.attention, atol=1e-5, rtol=1e-5)
        assert hypothesis.attention.shape[1] == len(sentence)


def test_a_run_translates_scores_and_draws_cross_attention(compose_cfg, tmp_path, tracking_uri):
    from seqlab.inference.translator import Translator

    write_multi30k_layout(tmp_path / "data" / "multi30k", n_train=200, n_val=12, n_test=12)
    cfg = compose_cfg(["experiment=translate_transformer", "debug=smoke", "logger=csv", "trainer.max_epochs=2",
                       "model.net.embed_dim=32", "model.net.hidden_size=64", "model.net.num_layers=1",
                       "model.scheduler.num_warmup_steps=4", "model.beam_size=2"])
    train(cfg)
    run = tmp_path / "run"
    metrics = (run / "csv" / "metrics.csv").read_text()
    assert "test/bleu" in metrics and "test/bleu_greedy" in metrics
    assert sorted(p.name for p in (run / "reports" / "attention").glob("*.png")) == ["01.png", "02.png", "03.png",
                                                                                   "04.png"]
    translator = Translator.from_bundle(run / "model")
    assert translator.has_attention
    [translation] = translator.translate(["a man runs"], beam_size=2)
    assert translation.attention.shape == (len(translation.target_tokens), len(translation.source_tokens))
