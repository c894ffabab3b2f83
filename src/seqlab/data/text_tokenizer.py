"""Tokenizers for language modelling (Hugging Face `tokenizers`), trained on the train split only."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from seqlab.data.options import options_from_config

EOS, UNK = "<|endoftext|>", "<unk>"
CHUNK_LINES = 2000  # lines per piece when encoding a corpus in parallel
BATCH_CHUNKS = 8  # pieces encoded at a time: what a corpus's encoding holds in memory


@dataclass
class TextTokenizerOptions:
    kind: Literal["char", "word", "bpe"] = "char"
    vocab_size: int = 8000  # word and bpe: the most frequent words / merges kept (special tokens included)
    min_frequency: int = 1  # word and bpe: seen fewer times in train -> <unk> (word) or no merge (bpe)
    pretrained: str | None = None  # a hub name or folder whose tokenizer to use instead of training one

    @classmethod
    def from_config(cls, options: dict | None, where: str = "dataset.tokenizer") -> TextTokenizerOptions:
        return options_from_config(cls, options, where, {"min_frequency": (1, ""), "vocab_size": (3, "")})


def train_text_tokenizer(texts: Iterable[str], options: TextTokenizerOptions):
    """A transformers fast tokenizer trained on `texts` (the train split): one token per character, per word
    (words, punctuation and whitespace runs, so that decoding gives the text back), or byte-level BPE as GPT-2
    uses. Wrapped so, it saves with save_pretrained and loads back with AutoTokenizer.from_pretrained beside a
    model. End of text (<|endoftext|>) doubles as padding."""
    if options.kind == "bpe":
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=options.vocab_size, min_frequency=options.min_frequency, special_tokens=[EOS],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
        )
    else:
        tokenizer = Tokenizer(models.WordLevel(unk_token=UNK))
        pattern = r"[\s\S]" if options.kind == "char" else r"\w+|[^\w\s]+|\s+"
        tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(pattern), behavior="isolated")
        tokenizer.decoder = decoders.Fuse()  # pieces are joined as they are: the text comes back whole
        trainer = trainers.WordLevelTrainer(
            vocab_size=options.vocab_size if options.kind == "word" else 1 << 30,
            min_frequency=options.min_frequency if options.kind == "word" else 1,
            special_tokens=[EOS, UNK], show_progress=False,
        )
    tokenizer.train_from_iterator(texts, trainer)
    return wrap_tokenizer(tokenizer)


def wrap_tokenizer(tokenizer):
    """A `tokenizers` Tokenizer made by train_text_tokenizer -> the transformers fast tokenizer around it
    (byte-level BPE has no <unk>: every byte is in its alphabet)."""
    specials = {"unk_token": UNK} if isinstance(tokenizer.model, models.WordLevel) else {}
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=EOS, pad_token=EOS,
                                   clean_up_tokenization_spaces=False, **specials)


def tokenizer_from_str(text: str):
    """A trained tokenizer back from the JSON text a checkpoint keeps (its backend_tokenizer.to_str())."""
    return wrap_tokenizer(Tokenizer.from_str(text))


def encode_text(tokenizer, segments: Iterable[str]) -> Iterator[list[int]]:
    """Token ids of one text given in segments (a piece of a document, streamed), in order: the text is cut
    into pieces of CHUNK_LINES whole lines, encoded BATCH_CHUNKS pieces at a time in parallel; each batch's
    ids are yielded. No special tokens added."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    chunks = line_chunks(segments)
    while batch := list(itertools.islice(chunks, BATCH_CHUNKS)):
        if backend is None:  # a tokenizer with no Rust backend (e.g. sentencepiece): one piece at a time
            yield [i for chunk in batch for i in tokenizer.encode(chunk, add_special_tokens=False)]
        else:
            yield [i for encoding in backend.encode_batch_fast(batch, add_special_tokens=False)
                   for i in encoding.ids]


def line_chunks(segments: Iterable[str]) -> Iterator[str]:
    """Segments of one text, each but the last ending a line, cut into pieces of CHUNK_LINES of the text's
    lines (str.splitlines'), the last piece shorter."""
    lines: list[str] = []
    for segment in segments:
        for line in segment.splitlines(keepends=True):
            lines.append(line)
            if len(lines) == CHUNK_LINES:
                yield "".join(lines)
                lines = []
    if lines:
        yield "".join(lines)
