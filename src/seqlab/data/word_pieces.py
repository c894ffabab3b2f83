"""Words -> sub-word pieces of a pretrained fast tokenizer, with word-level tags aligned to the pieces."""

from __future__ import annotations

from dataclasses import dataclass

from seqlab.errors import SeqlabError

IGNORE = -100  # the label of pieces the loss skips (torch's cross_entropy ignore_index)


@dataclass
class EncodedSentence:
    input_ids: list[int]
    first_pieces: list[int]  # the words that have a first piece, in order
    positions: list[int]     # where those first pieces are
    labels: list[int]        # per piece: the word's tag id on its first piece, IGNORE elsewhere
    cut: bool                # words were lost to the model's position limit


def check_fast(tokenizer, name: str) -> None:
    if not getattr(tokenizer, "is_fast", False):
        raise SeqlabError(f"the tokenizer of '{name}' is not a fast (Rust) tokenizer: aligning tags to "
                          "sub-word pieces needs its word_ids(); save the model with a tokenizer.json")


def encode_words(tokenizer, sentences: list[list[str]], max_length: int,
                 tags: list[list[int]] | None = None) -> list[EncodedSentence]:
    """Each sentence's words as pieces; `tags` (tag ids per word) become the labels of the first pieces.

    The tags are aligned through the tokenizer's word_ids(): a word's first piece carries its tag, its other
    pieces (and the special tokens) are ignored by the loss (IGNORE), and a prediction per word is read back
    from its first piece (word_tags). Sentences longer than max_length are cut there; their remaining words
    get no piece (and are tagged O when predicted).
    """
    if not sentences:
        return []
    batch = tokenizer(sentences, is_split_into_words=True, truncation=True, max_length=max_length)
    encoded = []
    for row, words in enumerate(sentences):
        labels, first_pieces, positions, previous = [], [], [], None
        for position, word in enumerate(batch.word_ids(row)):
            starts = word is not None and word != previous
            if starts:
                first_pieces.append(word)
                positions.append(position)
            labels.append(tags[row][word] if starts and tags is not None else IGNORE)
            previous = word
        cut = max((w for w in batch.word_ids(row) if w is not None), default=-1) < len(words) - 1
        encoded.append(EncodedSentence(batch["input_ids"][row], first_pieces, positions, labels, cut))
    return encoded


def word_tags(first_pieces: list[int], predicted: list[int], n_words: int,
              id2label: dict[int, str]) -> list[str]:
    """IOB2 tags of a sentence's words from the predictions at their first pieces; a word without a piece
    (cut, or dropped by the tokenizer's normalizer) is O."""
    tags = ["O"] * n_words
    for word, tag_id in zip(first_pieces, predicted, strict=True):
        tags[word] = id2label[tag_id]
    return tags


def cut_warning(cut: int, total: int, max_length: int, where: str) -> str:
    return (f"warning: {cut} of {total} {where} are longer than the model's {max_length} positions: they "
            "were cut there, and their remaining words are tagged O")
