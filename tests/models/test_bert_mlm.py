"""The masked-LM model: logits at the chosen positions only are the full pass's logits at those positions, for a
BERT (whose head then runs on the chosen positions alone) and for another encoder's head; a pretrained encoder
takes the dropout it is given under its own config's names."""

from __future__ import annotations

import pytest
import torch
from transformers import DistilBertConfig, DistilBertForMaskedLM

from seqlab.models.bert_mlm import BertMaskedLanguageModel

VOCAB = 60


def small_bert(tmp_path) -> BertMaskedLanguageModel:
    return BertMaskedLanguageModel(VOCAB, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                   intermediate_size=32, max_position_embeddings=16, dropout=0.0)


def small_distilbert(tmp_path) -> BertMaskedLanguageModel:
    folder = tmp_path / "distilbert"
    DistilBertForMaskedLM(DistilBertConfig(vocab_size=VOCAB, dim=16, n_layers=1, n_heads=2, hidden_dim=32,
                                           max_position_embeddings=16)).save_pretrained(folder)
    return BertMaskedLanguageModel(VOCAB, pretrained=str(folder), max_position_embeddings=16, dropout=0.0)


@pytest.mark.parametrize("build", [small_bert, small_distilbert])
def test_logits_at_the_chosen_positions_are_the_full_logits_there(build, tmp_path):
    torch.manual_seed(0)
    net = build(tmp_path).eval()
    ids = torch.randint(5, VOCAB, (3, 12))
    attention = torch.ones_like(ids)
    attention[2, 7:] = 0  # a padded row
    chosen = torch.rand(3, 12) < 0.3
    chosen[0, 0] = True
    full = net(ids, attention)
    assert full.shape == (3, 12, VOCAB)
    picked = net(ids, attention, chosen)
    assert picked.shape == (int(chosen.sum()), VOCAB)
    torch.testing.assert_close(picked, full[chosen], atol=1e-5, rtol=1e-5)


def test_dropout_replaces_another_encoders_own_under_its_config_names(tmp_path):
    config = small_distilbert(tmp_path).model.config  # saved with DistilBERT's 0.1
    assert (config.dropout, config.attention_dropout) == (0.0, 0.0)


def test_a_bert_runs_its_head_on_the_chosen_positions_alone(tmp_path):
    net = small_bert(tmp_path).eval()
    rows = []
    net.model.cls.register_forward_hook(lambda module, args, out: rows.append(args[0].shape[:-1]))
    chosen = torch.zeros(2, 10, dtype=torch.bool)
    chosen[0, 3] = chosen[1, 5] = chosen[1, 6] = True
    net(torch.randint(5, VOCAB, (2, 10)), torch.ones(2, 10, dtype=torch.long), chosen)
    assert rows == [(3,)]
