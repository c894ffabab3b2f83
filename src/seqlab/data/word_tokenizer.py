"""Word-level tokenizer (Hugging Face `tokenizers`): vocabulary from the train split only."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from tokenizers import Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import WordLevel
from tokenizers.trainers import WordLevelTrainer

from seqlab.data.options import options_from_config

PAD, UNK = "<pad>", "<unk>"
SPLITS = {
    "words": pre_tokenizers.Whitespace,  # words and runs of punctuation: "isn't" -> isn ' t
    "whitespace": pre_tokenizers.WhitespaceSplit,  # text already tokenized: split on spaces only
}


@dataclass
class WordTokenizerOptions:
    lowercase: bool = True
    min_frequency: int = 1  # words seen fewer times in train become <unk>
    max_vocab_size: int = 20000  # special tokens included
    max_length: int = 128  # tokens kept per text
    split: Literal["words", "whitespace"] = "words"
    # a pretrained model whose own tokenizer replaces this one (max_length still cuts)
    pretrained: str | None = None

    @classmethod
    def from_config(cls, options: dict | None, where: str = "dataset.tokenizer") -> WordTokenizerOptions:
        return options_from_config(cls, options, where, {
            "min_frequency": (1, ""), "max_length": (1, ""),
            "max_vocab_size": (3, "two special tokens and a word"),
        })


def train_word_tokenizer(texts: Iterable[str], options: WordTokenizerOptions) -> Tokenizer:
    """<pad> = 0, <unk> = 1, then the train split's words by frequency. The words are counted without the
    special tokens, then the vocabulary is built with them first: a corpus holding a literal "<unk>"
    (PTB-style text does) would otherwise leave a hole in the ids, and an id past the embedding's rows."""
    counter = Tokenizer(WordLevel(unk_token=UNK))
    steps = [normalizers.NFKC()] + ([normalizers.Lowercase()] if options.lowercase else [])
    counter.normalizer = normalizers.Sequence(steps)
    counter.pre_tokenizer = SPLITS[options.split]()
    counter.train_from_iterator(texts, WordLevelTrainer(
        vocab_size=options.max_vocab_size, min_frequency=options.min_frequency, show_progress=False,
    ))
    counted = counter.get_vocab()
    words = [w for w in sorted(counted, key=counted.get) if w not in (PAD, UNK)][: options.max_vocab_size - 2]
    tokenizer = Tokenizer(WordLevel({w: i for i, w in enumerate([PAD, UNK, *words])}, unk_token=UNK))
    tokenizer.normalizer = counter.normalizer
    tokenizer.pre_tokenizer = counter.pre_tokenizer
    tokenizer.add_special_tokens([PAD, UNK])
    tokenizer.enable_truncation(options.max_length)
    return tokenizer


def encode_texts(tokenizer: Tokenizer, texts: Sequence[str]) -> list[list[int]]:
    """Token ids per text; a text with no token becomes one <unk>, so that every sequence has a length."""
    unk = tokenizer.token_to_id(UNK)
    return [e.ids or [unk] for e in tokenizer.encode_batch(list(texts))]
