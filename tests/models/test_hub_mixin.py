"""seqlab's own nets saved the Hugging Face way: from_pretrained of a save_pretrained folder is the same net (the
same outputs, bit for bit), and the folder holds config.json, model.safetensors and a model card."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch

from seqlab.data.batching import pad_sequences
from seqlab.data.download import LICENSES
from seqlab.models.cnn_classifier import CNNClassifier
from seqlab.models.recurrent_classifier import RecurrentClassifier
from seqlab.models.rnn_lm import RNNLanguageModel
from seqlab.models.seq2seq import Seq2Seq
from seqlab.models.transformer import TransformerClassifier
from seqlab.models.transformer_seq2seq import TransformerSeq2Seq
from seqlab.tasks.model_card import model_card
from seqlab.tracking.run_info import command_line

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SENTENCES = [[5, 9, 3], [4, 4, 7, 8, 9, 10], [6, 2]]
TARGETS = torch.tensor([[1, 7, 8, 9], [1, 5, 5, 6], [1, 4, 3, 2]])

# tiny nets of each family, built with arguments other than their defaults (a config.json that lost one
# would build another net): factory, and the outputs of the net on fixed inputs
NETS = {
    "recurrent_classifier": (
        lambda: RecurrentClassifier(50, 3, 0, "gru", 16, 12, 2, True, 0.0, "attention"),
        lambda net: net(*pad_sequences(SENTENCES, 0)),
    ),
    "cnn_classifier": (
        lambda: CNNClassifier(50, 4, 0, embed_dim=16, num_filters=6, kernel_sizes=[2, 4], dropout=0.0),
        lambda net: net(*pad_sequences(SENTENCES, 0)),
    ),
    "transformer_classifier": (
        lambda: TransformerClassifier(50, 3, 0, embed_dim=16, num_heads=2, num_layers=1, hidden_size=24,
                                      positions="learned", max_positions=32, pooling="cls", dropout=0.0),
        lambda net: net(*pad_sequences(SENTENCES, 0)),
    ),
    "seq2seq": (  # tied output and target embedding weights
        lambda: Seq2Seq(30, 40, embed_dim=16, hidden_size=12, decoder_hidden_size=20, attention="luong",
                        attention_dim=10, input_feeding=True, dropout=0.0),
        lambda net: net(*pad_sequences(SENTENCES, 0), TARGETS),
    ),
    "transformer_seq2seq": (
        lambda: TransformerSeq2Seq(30, 40, embed_dim=16, num_heads=4, num_layers=1, hidden_size=24,
                                   max_positions=32, dropout=0.0),
        lambda net: net(*pad_sequences(SENTENCES, 0), TARGETS, return_attention=True),
    ),
    "rnn_lm": (  # tied weights through a projection (hidden size != embedding size)
        lambda: RNNLanguageModel(40, "lstm", 16, 24, 2, 0.0, tie_weights=True),
        lambda net: net(TARGETS),
    ),
}


def tensors(outputs) -> list[torch.Tensor]:
    return [outputs] if isinstance(outputs, torch.Tensor) else [t for t in outputs if t is not None]


@pytest.mark.parametrize("name", NETS)
def test_from_pretrained_gives_bit_identical_outputs(name, tmp_path):
    build, run = NETS[name]
    torch.manual_seed(0)
    net = build().eval()
    net.save_pretrained(tmp_path / name)
    loaded = type(net).from_pretrained(tmp_path / name)
    assert type(loaded) is type(net) and not loaded.training
    with torch.no_grad():
        expected, got = tensors(run(net)), tensors(run(loaded))
        torch.manual_seed(1)
        other = tensors(run(build().eval()))  # the same net with other weights: the comparison can fail
    assert len(got) == len(expected) > 0
    assert all(torch.equal(a, b) for a, b in zip(got, expected, strict=True))
    assert not torch.equal(other[0], expected[0])


def test_the_folder_holds_config_weights_and_a_model_card(tmp_path):
    build, _ = NETS["cnn_classifier"]
    build().save_pretrained(tmp_path / "cnn")
    assert {p.name for p in (tmp_path / "cnn").iterdir()} == {"config.json", "model.safetensors", "README.md"}
    config = json.loads((tmp_path / "cnn" / "config.json").read_text())
    assert config["architecture"] == "seqlab.models.cnn_classifier.CNNClassifier"
    assert config["kernel_sizes"] == [2, 4] and config["num_classes"] == 4 and config["num_filters"] == 6
    card = (tmp_path / "cnn" / "README.md").read_text()
    assert "CNNClassifier.from_pretrained(" in card and "library_name: seqlab" in card


def test_the_model_card_names_the_dataset_its_license_the_metrics_and_the_command(tmp_path):
    trainer = SimpleNamespace(callback_metrics={"test/acc": torch.tensor(0.8125), "val/loss": torch.tensor(0.5)})
    card = model_card(SimpleNamespace(trainer=trainer), SimpleNamespace(name="sst2", source="sst2"))
    build, _ = NETS["recurrent_classifier"]
    build().save_pretrained(tmp_path / "lstm", model_card_kwargs=card)
    text = (tmp_path / "lstm" / "README.md").read_text()
    assert "Dataset: sst2" in text
    assert f"License of the data: {LICENSES['sst2']}" in text
    assert "test/acc: 0.8125" in text and "val/loss" not in text
    assert f"`{command_line()}`" in text
    # your own files: the license is not known
    untested = SimpleNamespace(trainer=SimpleNamespace(callback_metrics={}))
    own = model_card(untested, SimpleNamespace(name="files", source=None))
    build().save_pretrained(tmp_path / "lstm", model_card_kwargs=own)  # replaces the card
    text = (tmp_path / "lstm" / "README.md").read_text()
    assert "Dataset: files" in text and "your own files" in text and LICENSES["sst2"] not in text
