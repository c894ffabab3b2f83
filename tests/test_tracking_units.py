"""What tracking turns a config and a command line into."""

from __future__ import annotations

from omegaconf import OmegaConf

from seqlab.tracking.params import MAX_VALUE, flatten_config
from seqlab.tracking.run_info import experiment_name, run_name


def test_params_are_dotted_leaves_with_values_cut_to_the_store_limit():
    cfg = OmegaConf.create({"model": {"net": {"hidden": 8, "widths": [3, 4]}}, "note": "x" * 400, "empty": {}})
    flat = flatten_config(cfg)
    assert flat["model.net.hidden"] == "8"
    assert flat["model.net.widths"] == "[3, 4]"
    assert len(flat["note"]) == MAX_VALUE and flat["note"].endswith("...")
    assert flat["empty"] == "{}"


def test_params_resolve_interpolations():
    cfg = OmegaConf.create({"a": 2, "b": "${a}"})
    assert flatten_config(cfg)["b"] == "2"


def test_names():
    assert experiment_name("sst2", "classification") == "sst2-classification"
    name = run_name("cnn", ["model=cnn", "trainer.max_epochs=5", "paths.root_dir=/x"])
    assert name == "cnn model=cnn trainer.max_epochs=5"
