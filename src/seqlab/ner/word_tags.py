"""Word-level IOB2 tags <-> the entities of a spaCy Doc, with spaCy's own converters."""

from __future__ import annotations

from spacy.tokens import Doc
from spacy.training.iob_utils import biluo_tags_to_spans, biluo_to_iob, doc_to_biluo_tags, iob_to_biluo


def iob_tags(doc) -> list[str]:
    """The gold IOB2 tags of a Doc's words."""
    return biluo_to_iob(doc_to_biluo_tags(doc))


def tagged_doc(doc, tags: list[str]):
    """A Doc with `doc`'s words and spacing and the entities of `tags` (IOB2; an I- tag that opens no entity
    of its type starts one)."""
    copy = Doc(doc.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])
    copy.ents = biluo_tags_to_spans(copy, iob_to_biluo(list(tags)))
    return copy
