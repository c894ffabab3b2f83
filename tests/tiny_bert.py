"""A tiny BERT (BertConfig, two layers, width 32) with a tiny uncased WordPiece tokenizer, saved with save_pretrained
into a folder: what a pretrained encoder looks like to seqlab, built in a second, without the hub."""

from __future__ import annotations

from pathlib import Path

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def save_tiny_bert(folder: Path, texts: list[str], seed: int = 0, max_positions: int = 64) -> Path:
    """A randomly initialised BertModel and a WordPiece tokenizer trained on `texts`, saved into `folder`."""
    import torch
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, BertTokenizerFast

    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece()
    backend.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=200, special_tokens=SPECIALS,
                                                                 show_progress=False))
    cls, sep = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tokenizer = BertTokenizerFast(tokenizer_object=backend, model_max_length=max_positions)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=backend.get_vocab_size(), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=max_positions,
                        pad_token_id=backend.token_to_id("[PAD]"))
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
