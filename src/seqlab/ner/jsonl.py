"""Reader of spaCy-style JSONL: one {"text": "...", "entities": [[start, end, label], ...]} per line."""

from __future__ import annotations

from pathlib import Path

from seqlab.data.readers import parse_json_line, read_utf8_lines
from seqlab.errors import SeqlabError


def read_entity_jsonl(path: str | Path, nlp) -> list:
    """Docs with their entities set (every other token outside), tokenized by `nlp`'s tokenizer; offsets
    count characters. An entity whose offsets do not fall on token boundaries is a SeqlabError naming the
    line and the span (spaCy would drop it silently), as are overlapping entities, offsets outside the text
    and entries that are not [start, end, label]."""
    path = Path(path)
    docs = []
    for number, line in enumerate(read_utf8_lines(path), start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        record = parse_json_line(line, where)
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise SeqlabError(f'{where}: expected an object '
                              '{"text": "...", "entities": [[start, end, label], ...]}')
        docs.append(_doc(where, record["text"], record.get("entities", []), nlp))
    if not docs:
        raise SeqlabError(f'{path} holds no records; expected one {{"text": ..., "entities": [...]}} per '
                          'line')
    return docs


def _doc(where: str, text: str, entities, nlp):
    if not isinstance(entities, list):
        raise SeqlabError(f'{where}: "entities" must be a list of [start, end, label]')
    doc = nlp.make_doc(text)
    spans = []
    for entity in entities:
        start, end, label = _entity(where, entity, len(text))
        span = doc.char_span(start, end, label=label)
        if span is None:
            near = doc.char_span(start, end, label=label, alignment_mode="expand")
            tokens = " ".join(repr(t.text) for t in near) if near is not None else "none"
            raise SeqlabError(
                f"{where}: entity [{start}, {end}, {label!r}] ({text[start:end]!r}) does not fall on token "
                f"boundaries; the tokens there are {tokens}: fix the offsets to start and end on tokens"
            )
        spans.append(span)
    spans.sort(key=lambda s: s.start)
    for before, after in zip(spans, spans[1:], strict=False):
        if after.start < before.end:
            raise SeqlabError(
                f"{where}: entities [{before.start_char}, {before.end_char}, {before.label_!r}] and "
                f"[{after.start_char}, {after.end_char}, {after.label_!r}] overlap; keep one of them"
            )
    doc.set_ents(spans, default="outside")
    return doc


def _entity(where: str, entity, length: int) -> tuple[int, int, str]:
    if isinstance(entity, dict):
        entity = [entity.get("start"), entity.get("end"), entity.get("label")]
    valid = (
        isinstance(entity, list) and len(entity) == 3
        and all(isinstance(x, int) and not isinstance(x, bool) for x in entity[:2])
        and isinstance(entity[2], str) and entity[2].strip()
    )
    if not valid:
        raise SeqlabError(f"{where}: entity {entity!r} is not [start, end, label] (two character offsets, "
                          "a label)")
    start, end, label = entity
    if not 0 <= start < end <= length:
        raise SeqlabError(f"{where}: entity [{start}, {end}, {label!r}] lies outside the text ({length} "
                          "characters); offsets count characters from 0, end exclusive")
    return start, end, label
