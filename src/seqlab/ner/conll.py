"""Reader of CoNLL files with IOB2 tags into tagged sentences (entity spans)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from seqlab.data.readers import read_utf8_lines
from seqlab.errors import SeqlabError

StrayPolicy = Literal["repair", "reject"]
STRAY_OPTION = "dataset.stray_i_tags"


@dataclass
class TaggedSentence:
    words: list[str]
    spans: list[tuple[int, int, str]]  # token start, token end (exclusive), label


@dataclass
class ConllFile:
    sentences: list[TaggedSentence]
    repaired: int  # stray I- tags turned into B- tags


def read_conll(path: str | Path, stray_i_tags: StrayPolicy = "repair") -> ConllFile:
    """One `token<TAB>tag` per line (the tag is the last column, so CoNLL-2003's four columns read too), an
    empty line (or a `-DOCSTART-` line, itself skipped) between sentences.

    Every malformed line is a SeqlabError naming the file and the line. An I- tag with no entity of its type
    open (after O, at a sentence start, or after another type) is repaired into a B- tag and counted, or
    rejected."""
    path = Path(path)
    lines = read_utf8_lines(path)
    sentences: list[TaggedSentence] = []
    words: list[str] = []
    tags: list[str] = []
    start = 1
    repaired = 0
    for number, line in enumerate([*lines, ""], start=1):
        if not line.strip() or line.startswith("-DOCSTART-"):  # a document start ends a sentence too
            if words:
                spans, fixed = _spans(path, start, tags, stray_i_tags)
                sentences.append(TaggedSentence(words, spans))
                repaired += fixed
            words, tags, start = [], [], number + 1
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        token, tag = fields[0], fields[-1].strip()
        if len(fields) < 2 or not tag:
            raise SeqlabError(
                f"{path}, line {number}: no tag after the token {token.strip()!r}; each line needs "
                "`token<TAB>tag` (tags O, B-<type>, I-<type>), and an empty line ends a sentence"
            )
        if not token.strip():
            raise SeqlabError(f"{path}, line {number}: an empty token before the tag {tag!r}")
        if tag != "O" and not (tag[:2] in ("B-", "I-") and len(tag) > 2):
            raise SeqlabError(f"{path}, line {number}: tag {tag!r} is not IOB2; tags are O, B-<type> and "
                              "I-<type>")
        words.append(token)
        tags.append(tag)
    if not sentences:
        raise SeqlabError(f"{path} holds no sentences; expected `token<TAB>tag` lines with empty lines "
                          "between sentences")
    return ConllFile(sentences, repaired)


def _spans(path: Path, first_line: int, tags: list[str], policy: StrayPolicy) -> tuple[list, int]:
    """IOB2 tags -> entity spans; stray I- tags start an entity (repair) or raise (reject)."""
    spans: list[tuple[int, int, str]] = []
    open_label, open_start, repaired = None, 0, 0
    for i, tag in enumerate([*tags, "O"]):
        prefix, label = tag[:2], tag[2:]
        if prefix == "I-" and label == open_label:
            continue
        if open_label is not None:
            spans.append((open_start, i, open_label))
            open_label = None
        if prefix == "I-":
            if policy == "reject":
                before = f"the tag before is {tags[i - 1]!r}" if i else "it starts the sentence"
                raise SeqlabError(
                    f"{path}, line {first_line + i}: {tag} with no {label} entity open ({before}); fix the "
                    f"tag to B-{label}, or set {STRAY_OPTION}=repair to turn such tags into B- tags"
                )
            repaired += 1
        if prefix in ("B-", "I-"):
            open_label, open_start = label, i
    return spans, repaired
