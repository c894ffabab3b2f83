"""Classifier nets: output shapes, any number of classes, and padding that never changes a prediction."""

from __future__ import annotations

import pytest
import torch

from seqlab.data.batching import pad_sequences
from seqlab.models.cnn_classifier import CNNClassifier
from seqlab.models.pooling import AttentionPooling
from seqlab.models.recurrent_classifier import RecurrentClassifier

PAD = 0
NETS = {
    "lstm-bi-max": lambda c: RecurrentClassifier(50, c, PAD, "lstm", 16, 12, 2, True, 0.0, "max"),
    "lstm-uni-last": lambda c: RecurrentClassifier(50, c, PAD, "lstm", 16, 12, 1, False, 0.0, "last"),
    "lstm-bi-last": lambda c: RecurrentClassifier(50, c, PAD, "lstm", 16, 12, 2, True, 0.0, "last"),
    "lstm-bi-attention": lambda c: RecurrentClassifier(50, c, PAD, "lstm", 16, 12, 1, True, 0.0, "attention"),
    "gru-mean": lambda c: RecurrentClassifier(50, c, PAD, "gru", 16, 12, 1, True, 0.0, "mean"),
    "rnn-uni-max": lambda c: RecurrentClassifier(50, c, PAD, "rnn", 16, 12, 1, False, 0.0, "max"),
    "cnn": lambda c: CNNClassifier(50, c, PAD, 16, 8, [2, 3, 5], 0.0),
}


@pytest.mark.parametrize("name", NETS)
def test_padding_never_changes_the_logits(name):
    torch.manual_seed(0)
    net = NETS[name](3).eval()
    short = [5, 9, 3]
    batch = [short, [4, 4, 7, 8, 9, 10, 11, 12, 13], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]]
    alone = net(*pad_sequences([short], PAD))
    together = net(*pad_sequences(batch, PAD))
    assert together.shape == (3, 3)
    torch.testing.assert_close(alone[0], together[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", NETS)
@pytest.mark.parametrize("classes", [2, 5])
def test_any_number_of_classes(name, classes):
    net = NETS[name](classes)
    logits = net(*pad_sequences([[1, 2], [3]], PAD))
    assert logits.shape == (2, classes)


@pytest.mark.parametrize("name", NETS)
def test_gradients_reach_every_weight_and_never_the_padding_embedding(name):
    torch.manual_seed(0)
    net = NETS[name](3)
    ids, mask = pad_sequences([[1, 2, 3], [4]], PAD)
    torch.nn.functional.cross_entropy(net(ids, mask), torch.tensor([0, 2])).backward()
    for weight_name, weight in net.named_parameters():
        assert weight.grad is not None and weight.grad.abs().sum() > 0, weight_name
    rows = net.embedding.weight.grad.abs().sum(-1)
    assert torch.all(rows[[1, 2, 3, 4]] > 0)  # every token of the batch
    assert torch.all(rows[PAD] == 0) and torch.all(rows[5:] == 0)  # the pads, and tokens absent from the batch


def test_last_pooling_equals_the_packed_final_state():
    """'last' without packing (one direction) is the LSTM's final hidden state of the packed sequence."""
    torch.manual_seed(0)
    net = RecurrentClassifier(50, 2, PAD, "lstm", 8, 6, 1, False, 0.0, "last").eval()
    ids, mask = pad_sequences([[3, 4, 5], [6, 7]], PAD)
    packed = torch.nn.utils.rnn.pack_padded_sequence(net.embedding(ids), mask.sum(1), True, enforce_sorted=False)
    _, (h_n, _) = net.rnn(packed)
    torch.testing.assert_close(net.head(h_n[-1]), net(ids, mask))


def test_attention_pooling_weights_sum_to_one_and_skip_pads():
    pool = AttentionPooling(4)
    states = torch.randn(2, 5, 4)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    _, weights = pool(states, mask)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2))
    assert torch.all(weights[0, 3:] == 0)


def test_word_dropout_replaces_only_real_tokens_and_only_while_training():
    from seqlab.models.word_dropout import WordDropout

    torch.manual_seed(0)
    ids, mask = pad_sequences([[5] * 400, [6] * 100], PAD)
    drop = WordDropout(0.25, unk_id=1)
    out = drop(ids, mask)
    assert torch.all(out[~mask] == PAD)  # pads untouched
    share = (out[mask] == 1).float().mean().item()
    assert 0.18 < share < 0.32
    assert torch.equal(drop.eval()(ids, mask), ids)
