"""The texts a prediction command reads from text=, texts= and file=."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from seqlab.commands.input_texts import input_texts
from seqlab.errors import SeqlabError


def given(**values):
    return OmegaConf.create({"text": None, "texts": [], "file": None, **values})


def test_text_then_texts_then_the_file_lines(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("from a file\n\nlast line\n", encoding="utf-8")
    cfg = given(text="one", texts=["two", "three"], file=str(path))
    assert input_texts(cfg, "classify") == ["one", "two", "three", "from a file", "last line"]
    assert input_texts(cfg, "translate", keep_empty_lines=True)[-3:] == ["from a file", "", "last line"]


def test_a_plain_string_for_texts_is_one_text_not_one_per_character():
    assert input_texts(given(texts="hello"), "read") == ["hello"]


@pytest.mark.parametrize("cfg", [given(), given(text="  "), given(texts=["", " "])])
def test_nothing_to_read_names_the_three_ways_to_give_texts(cfg):
    with pytest.raises(SeqlabError, match=r"nothing to read: pass text=\"...\", texts='\[\"...\", \"...\"\]' or file"):
        input_texts(cfg, "read")
