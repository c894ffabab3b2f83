"""Attention maps of a tiny BERT: one PNG per text and layer, weights that are distributions over the text's own
word pieces, and the model left as it was found."""

from __future__ import annotations

import pytest
import torch
from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
from tokenizers.models import WordPiece
from transformers import BertConfig, BertForSequenceClassification, BertForTokenClassification, PreTrainedTokenizerFast

from seqlab.reports import attention_maps
from seqlab.reports.attention_maps import encoder_attentions, write_attention_maps

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "a", "cat", "dog", "sat", "on", "mat", "##s"]
TEXTS = ["the cats sat on the mat", "a dog"]


@pytest.fixture
def tokenizer():
    wordpiece = Tokenizer(WordPiece({piece: i for i, piece in enumerate(VOCAB)}, unk_token="[UNK]"))
    wordpiece.normalizer = normalizers.BertNormalizer()
    wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wordpiece.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2),
                                                                                                      ("[SEP]", 3)])
    return PreTrainedTokenizerFast(tokenizer_object=wordpiece, pad_token="[PAD]", unk_token="[UNK]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")


def tiny_bert(kind=BertForSequenceClassification):
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64, num_labels=3, attn_implementation="sdpa")
    return kind(config)


def test_one_png_per_text_and_layer(tokenizer, tmp_path, one_torch_thread):
    paths = write_attention_maps(tiny_bert(BertForTokenClassification), tokenizer, TEXTS, tmp_path / "maps")
    names = ["attention-01-layer01.png", "attention-01-layer02.png", "attention-02-layer01.png",
             "attention-02-layer02.png"]
    assert paths == [tmp_path / "maps" / name for name in names]
    assert sorted(p.name for p in (tmp_path / "maps").iterdir()) == names
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths)


def test_each_map_shows_the_texts_word_pieces_without_padding_cut_at_max_tokens(tokenizer, tmp_path, monkeypatch):
    drawn = []
    monkeypatch.setattr(attention_maps, "self_attention_heads_png",
                        lambda heads, tokens, path, title: drawn.append((heads, tokens, path.name)) or path)
    write_attention_maps(tiny_bert(), tokenizer, TEXTS, tmp_path, max_tokens=5)
    assert [(tokens, name) for _, tokens, name in drawn] == [
        (["[CLS]", "the", "cat", "##s", "[SEP]"], "attention-01-layer01.png"),
        (["[CLS]", "the", "cat", "##s", "[SEP]"], "attention-01-layer02.png"),
        (["[CLS]", "a", "dog", "[SEP]"], "attention-02-layer01.png"),
        (["[CLS]", "a", "dog", "[SEP]"], "attention-02-layer02.png"),
    ]
    short = drawn[2][0]
    assert short.shape == (2, 4, 4)
    torch.testing.assert_close(short.sum(-1), torch.ones(2, 4))


def test_rows_sum_to_one_over_the_texts_tokens_and_pads_get_nothing(tokenizer):
    model = tiny_bert()
    layers, batch = encoder_attentions(model, tokenizer, TEXTS)
    assert len(layers) == 2
    mask = batch["attention_mask"]
    assert mask.tolist()[1] == [1, 1, 1, 1, 0, 0, 0, 0, 0]
    for layer in layers:
        assert layer.shape == (2, 2, 9, 9)
        keys = mask[:, None, None, :].bool()
        torch.testing.assert_close(layer.masked_fill(~keys, 0).sum(-1), torch.ones(2, 2, 9))
        assert layer[1, :, :, 4:].abs().max() == 0
    alone, _ = encoder_attentions(model, tokenizer, TEXTS[1:])
    for batched, single in zip(layers, alone, strict=True):
        torch.testing.assert_close(batched[1, :, :4, :4], single[0])


def test_the_models_attention_implementation_and_mode_are_restored(tokenizer, tmp_path):
    model = tiny_bert()
    model.train()
    write_attention_maps(model, tokenizer, TEXTS[1:], tmp_path)
    assert model.config._attn_implementation == "sdpa"
    assert model.training
