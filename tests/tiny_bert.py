"""A tiny BERT (random weights) and its WordPiece tokenizer, saved with save_pretrained into a folder: a
pretrained model for tests, loaded back by name of that folder. The vocabulary holds whole words and single
letters (and ##letters), so that a word outside it is cut into several pieces (Alice -> a ##l ##i ##c ##e)."""

from __future__ import annotations

import string
from pathlib import Path

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def write_tiny_bert(folder: Path, words: list[str], max_positions: int = 64, hidden: int = 32,
                    seed: int = 0) -> Path:
    """A 2-layer BERT whose vocabulary is `words` (lower-cased), letters, digits and punctuation."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    characters = string.ascii_lowercase + string.digits
    vocab = list(dict.fromkeys([*SPECIAL, *(w.lower() for w in words), *characters, *string.punctuation,
                                *(f"##{c}" for c in characters)]))
    tokenizer = BertTokenizerFast(vocab={token: i for i, token in enumerate(vocab)}, do_lower_case=True,
                                  model_max_length=max_positions)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=2 * hidden, max_position_embeddings=max_positions)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
