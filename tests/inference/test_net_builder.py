"""Loading a saved net runs no code from the folder: the class its config.json names is built only if it is a net
defined in seqlab.models (and saved the Hugging Face way), whichever of seqlab's loaders reads the folder."""

from __future__ import annotations

import json

import pytest
import torch

from seqlab.errors import SeqlabError
from seqlab.inference.net_builder import load_net
from seqlab.inference.text_classifier import TextClassifier
from seqlab.inference.text_generator import TextGenerator
from seqlab.inference.translator import Translator
from seqlab.models.rnn_lm import RNNLanguageModel

pytestmark = pytest.mark.usefixtures("one_torch_thread")

LOADERS = {"load_net": load_net, "classifier": TextClassifier.from_bundle, "translator": Translator.from_bundle,
           "generator": TextGenerator.from_directory}


@pytest.mark.parametrize("target", [
    "torch.nn.Linear", "builtins.eval", "seqlab.models.rnn_lm.nn.Linear", "seqlab.models.no_such_module.Net",
    "seqlab.models.pretrained_classifier.PretrainedClassifier",  # in seqlab.models, but not saved this way
])
@pytest.mark.parametrize("loader", LOADERS)
def test_a_config_naming_a_class_outside_seqlab_models_is_refused(target, loader, tmp_path, monkeypatch):
    RNNLanguageModel(20, embed_dim=8, hidden_size=8).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "architecture": target}))
    monkeypatch.setattr(torch.nn.Linear, "__init__", lambda *a, **k: pytest.fail("a refused class was built"))
    with pytest.raises(SeqlabError, match=rf"refusing to build '{target}': only seqlab.models classes can be loaded"):
        LOADERS[loader](tmp_path)


def test_a_folder_without_a_seqlab_net_is_named(tmp_path):
    with pytest.raises(SeqlabError, match=rf"{tmp_path} holds no saved seqlab net \(no config.json"):
        TextClassifier.from_bundle(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))  # a transformers model's
    with pytest.raises(SeqlabError, match=rf"{tmp_path} holds no saved seqlab net"):
        Translator.from_bundle(tmp_path)
