"""Tiny entity-annotated datasets in the real layouts (WNUT-17's CoNLL/IOB2 and spaCy-style JSONL)."""

from __future__ import annotations

import json
import random
from pathlib import Path

PEOPLE = [["Alice", "Smith"], ["Bob", "Jones"], ["Carla", "Diaz"], ["Dan", "Brown"], ["Eva", "Green"]]
PLACES = [["Paris"], ["New", "York"], ["Berlin"], ["Tokyo"], ["San", "Diego"]]
COMPANIES = [["Google"], ["Apple"], ["Tesla"]]
TEMPLATES = [
    ["I", "met", "{person}", "in", "{location}", "yesterday", "."],
    ["{person}", "works", "for", "{corporation}", "now", "!"],
    ["lol", "{person}", "just", "moved", "to", "{location}"],
    ["{corporation}", "opened", "a", "shop", "in", "{location}", "today"],
]
FILLERS = {"person": PEOPLE, "location": PLACES, "corporation": COMPANIES}


def tagged_sentences(n: int, seed: int) -> list[list[tuple[str, str]]]:
    rng = random.Random(seed)
    sentences = []
    for i in range(n):
        sentence = []
        for word in TEMPLATES[i % len(TEMPLATES)]:
            if word.startswith("{"):
                label = word[1:-1]
                tokens = rng.choice(FILLERS[label])
                sentence += [(t, ("B-" if j == 0 else "I-") + label) for j, t in enumerate(tokens)]
            else:
                sentence.append((word, "O"))
        sentences.append(sentence)
    return sentences


def conll_text(sentences: list[list[tuple[str, str]]]) -> str:
    return "\n".join("".join(f"{token}\t{tag}\n" for token, tag in s) for s in sentences)


def write_wnut17_layout(folder: Path, n_train: int = 80, n_eval: int = 16) -> Path:
    """data/wnut17/{train,dev,test}.conll: token<TAB>tag, an empty line after each sentence."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, n, seed in (("train.conll", n_train, 0), ("dev.conll", n_eval, 1), ("test.conll", n_eval, 2)):
        (folder / name).write_text(conll_text(tagged_sentences(n, seed)), encoding="utf-8")
    return folder


def jsonl_records(sentences: list[list[tuple[str, str]]]) -> list[dict]:
    records = []
    for sentence in sentences:
        text, entities = "", []
        for token, tag in sentence:
            start = len(text) + (1 if text else 0)
            text = f"{text} {token}" if text else token
            if tag.startswith("B-"):
                entities.append([start, len(text), tag[2:]])
            elif tag.startswith("I-"):
                entities[-1][1] = len(text)
        records.append({"text": text, "entities": entities})
    return records


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path
