"""A tiny BERT (random weights, two layers, width 32) and its uncased WordPiece tokenizer, saved with save_pretrained
into a folder: what a pretrained encoder looks like to seqlab, built in a second, without the hub."""

from __future__ import annotations

import string
from pathlib import Path

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def trained_vocab(texts: list[str], size: int = 200) -> list[str]:
    """A WordPiece vocabulary learnt from `texts` by the tokenizers library."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=size, special_tokens=SPECIAL,
                                                                 show_progress=False))
    return sorted(backend.get_vocab(), key=backend.get_vocab().get)


def words_and_letters(words: list[str]) -> list[str]:
    """`words` (lower-cased), letters, digits and punctuation: a word outside it is cut into several pieces
    (Alice -> a ##l ##i ##c ##e)."""
    characters = string.ascii_lowercase + string.digits
    return list(dict.fromkeys([*SPECIAL, *(w.lower() for w in words), *characters, *string.punctuation,
                               *(f"##{c}" for c in characters)]))


def save_tiny_bert(folder: Path, vocab: list[str], max_positions: int = 64, hidden: int = 32, seed: int = 0) -> Path:
    """A randomly initialised 2-layer BertModel over `vocab` (special tokens first) and its tokenizer."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    ids = {token: i for i, token in enumerate(dict.fromkeys([*SPECIAL, *vocab]))}
    tokenizer = BertTokenizerFast(vocab=ids, do_lower_case=True, model_max_length=max_positions)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(ids), hidden_size=hidden, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=2 * hidden, max_position_embeddings=max_positions, pad_token_id=0)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
