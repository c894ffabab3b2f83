"""Source and target tokenizers of a translator (Hugging Face `tokenizers`): word-level or BPE, trained on the
train split only, with <pad> = 0, <unk> = 1, <bos> = 2, <eos> = 3."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers
from tokenizers.models import BPE, WordLevel
from tokenizers.trainers import BpeTrainer, WordLevelTrainer

from seqlab.data.options import options_from_config
from seqlab.errors import SeqlabError

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = [PAD, UNK, BOS, EOS]
SPACE_MARK = "▁"


@dataclass
class Seq2SeqTokenizerOptions:
    kind: Literal["word", "bpe"] = "bpe"
    vocab_size: int = 8000  # the largest vocabulary, special tokens included
    min_frequency: int = 2  # words (or merges) seen fewer times in train are left out
    lowercase: bool = False

    @classmethod
    def from_config(cls, options: dict | None, where: str) -> Seq2SeqTokenizerOptions:
        return options_from_config(cls, options, where, {
            "min_frequency": (1, ""), "vocab_size": (len(SPECIALS) + 1, "four special tokens and one")})


def train_tokenizer(texts: Iterable[str], options: Seq2SeqTokenizerOptions) -> Tokenizer:
    """Text is cut SentencePiece-style: spaces become a "▁" mark on the word that follows, and punctuation is
    split off, so decoding gives back detokenized text as written ("A man, riding." -> ▁A ▁man , ▁riding .),
    up to NFKC normalization ("…" -> "...")."""
    if options.kind == "word":
        tokenizer = Tokenizer(WordLevel(unk_token=UNK))
        trainer = WordLevelTrainer(vocab_size=options.vocab_size, min_frequency=options.min_frequency,
                                   special_tokens=SPECIALS, show_progress=False)
    else:
        tokenizer = Tokenizer(BPE(unk_token=UNK))
        trainer = BpeTrainer(vocab_size=options.vocab_size, min_frequency=options.min_frequency,
                             special_tokens=SPECIALS, show_progress=False)
    steps = [normalizers.NFKC()] + ([normalizers.Lowercase()] if options.lowercase else [])
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Metaspace(replacement=SPACE_MARK), pre_tokenizers.Punctuation("isolated")]
    )
    tokenizer.decoder = decoders.Metaspace(replacement=SPACE_MARK)
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer


def special_ids(tokenizer: Tokenizer) -> dict[str, int]:
    ids = {name: tokenizer.token_to_id(token) for name, token in
           (("pad_id", PAD), ("unk_id", UNK), ("bos_id", BOS), ("eos_id", EOS))}
    missing = [name for name, value in ids.items() if value is None]
    if missing:
        raise SeqlabError(f"the tokenizer has no {', '.join(missing)}: it was not made by seqlab's "
                          "translation data")
    return ids


def encode(tokenizer: Tokenizer, texts: Sequence[str], max_length: int,
           bos: bool) -> tuple[list[list[int]], list[int]]:
    """Token ids per text, cut to max_length tokens, then <eos> appended (and <bos> put first when asked);
    returns them and the positions of the texts that were cut."""
    ids = special_ids(tokenizer)
    encoded, cut = [], []
    for row, encoding in enumerate(tokenizer.encode_batch(list(texts), add_special_tokens=False)):
        tokens = encoding.ids
        if len(tokens) > max_length:
            tokens = tokens[:max_length]
            cut.append(row)
        encoded.append(([ids["bos_id"]] if bos else []) + tokens + [ids["eos_id"]])
    return encoded, cut


def decode(tokenizer: Tokenizer, sequences: Sequence[Sequence[int]]) -> list[str]:
    """Detokenized text per id sequence (special tokens dropped)."""
    return tokenizer.decode_batch([list(s) for s in sequences], skip_special_tokens=True)


def display_tokens(tokenizer: Tokenizer, ids: Sequence[int]) -> list[str]:
    """Tokens as shown on plots: a word's first piece without its space mark, a piece that continues a word
    after "·" (punctuation and special tokens as they are)."""
    shown: list[str] = []
    for token in (tokenizer.id_to_token(i) or UNK for i in ids):
        after_space = bool(shown) and shown[-1] == SPACE_MARK
        if token.startswith(SPACE_MARK) and len(token) > len(SPACE_MARK):
            shown.append(token[len(SPACE_MARK):])
        elif after_space or token in SPECIALS or token == SPACE_MARK or not any(c.isalnum() for c in token):
            shown.append(token)
        else:
            shown.append("·" + token)
    return shown
