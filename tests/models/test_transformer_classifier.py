"""The Transformer encoder classifier: padding never changes a prediction, its attention weights are a softmax over
the real tokens only (the same attention SDPA computes), and a run draws its attention maps per layer and head."""

from __future__ import annotations

import pytest
import torch

from seqlab.commands.train import train
from seqlab.data.batching import pad_sequences
from seqlab.models.transformer import MultiHeadAttention, TransformerClassifier

PAD = 0
SENTENCES = [[5, 9, 3], [4, 4, 7, 8, 9, 10, 11, 12, 13], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]]


def tiny(pooling: str, positions: str, classes: int = 3) -> TransformerClassifier:
    torch.manual_seed(0)
    return TransformerClassifier(50, classes, PAD, embed_dim=16, num_heads=4, num_layers=2, hidden_size=24,
                                 positions=positions, max_positions=32, pooling=pooling, dropout=0.0).eval()


@pytest.mark.parametrize("positions", ["sinusoidal", "learned"])
@pytest.mark.parametrize("pooling", ["cls", "mean", "max"])
def test_padding_never_changes_the_logits(pooling, positions):
    net = tiny(pooling, positions)
    alone = net(*pad_sequences(SENTENCES[:1], PAD))
    together = net(*pad_sequences(SENTENCES, PAD))
    torch.testing.assert_close(alone[0], together[0], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(together[0], together[1])  # the logits do depend on the words


@pytest.mark.parametrize("pooling, extra", [("cls", 1), ("mean", 0)])
def test_attention_weights_sum_to_one_over_the_real_tokens(pooling, extra):
    net = tiny(pooling, "sinusoidal")
    layers = net.attention_weights(*pad_sequences(SENTENCES, PAD))
    assert len(layers) == 2
    for weights in layers:
        assert weights.shape == (3, 4, 14 + extra, 14 + extra)
        for row, sentence in enumerate(SENTENCES):
            real = len(sentence) + extra
            torch.testing.assert_close(weights[row, :, :, :real].sum(-1), torch.ones(4, 14 + extra))
            assert torch.all(weights[row, :, :, real:] == 0)  # pads get nothing


def test_explicit_attention_equals_scaled_dot_product_attention():
    torch.manual_seed(0)
    attention = MultiHeadAttention(16, 4, dropout=0.0)
    x = torch.randn(2, 5, 16)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)[:, None, None, :]
    fused, none = attention(x, x, mask)
    explicit, weights = attention(x, x, mask, return_weights=True)
    assert none is None and weights.shape == (2, 4, 5, 5)
    torch.testing.assert_close(fused, explicit, atol=1e-5, rtol=1e-5)


def test_num_heads_must_divide_the_width():
    from seqlab.errors import SeqlabError

    with pytest.raises(SeqlabError, match=r"model.net.num_heads=3 must divide model.net.embed_dim=16"):
        TransformerClassifier(50, 2, embed_dim=16, num_heads=3)


def test_a_run_learns_the_tiny_task_and_draws_attention_per_layer_and_head(compose_cfg, sst2_dir, tmp_path):
    cfg = compose_cfg(["experiment=sentiment_transformer", "debug=smoke", "logger=csv", "trainer.max_epochs=6",
                       "dataset.batch_size=16", "model.net.embed_dim=32", "model.net.hidden_size=64",
                       "model.net.num_heads=2", "model.scheduler.num_warmup_steps=8", "model.optimizer.lr=0.003"])
    assert train(cfg) >= 0.9  # the tiny data's label follows from one word
    maps = tmp_path / "run" / "reports" / "attention"
    assert sorted(p.relative_to(maps).as_posix() for p in maps.rglob("*.png")) == [
        f"{sentence:02d}/layer{layer}_head{head}.png" for sentence in (1, 2, 3) for layer in (1, 2) for head in (1, 2)]
