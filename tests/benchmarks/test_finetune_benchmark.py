"""The fine-tuning benchmark: its arithmetic (medians, the speed ratio, the targets) on made-up figures, and the
transformers Trainer peer end to end on a tiny BERT saved in a temporary folder and a dozen SST-2 rows."""

from __future__ import annotations

import json
from pathlib import Path
from unittest import mock

import pytest
from omegaconf import OmegaConf

from seqlab.benchmarks import finetune
from seqlab.benchmarks.peers import hf_trainer_classification
from seqlab.errors import SeqlabError

from conftest import FILLER, NEGATIVE, POSITIVE, write_sst2_layout


def test_median_of_each_side_and_a_missing_rate_named():
    assert finetune.median_rate("seqlab speed", [100.0, 120.0]) == 110.0
    assert finetune.median_rate("seqlab speed", [100.0, 300.0, 120.0]) == 120.0
    with pytest.raises(SeqlabError, match="trainer speed run 2 gave no examples per second"):
        finetune.median_rate("trainer speed", [100.0, None])


def test_epochs_pooled_by_their_seconds():
    # a long epoch at 200/s and a cut-short one at 100/s: 21000 examples in 110 s
    assert finetune.pooled_rate([100.0, 10.0], [200.0, 100.0]) == pytest.approx(190.9, abs=0.05)


def test_targets_from_fake_figures():
    found = finetune.targets({"dev_acc": 0.91}, {"dev_acc": 0.92}, 150.0, 100.0)
    assert found["seqlab sst2 dev accuracy"] == {"target": 0.90, "value": 0.91, "met": True}
    assert found["seqlab over Trainer training examples per second"] == {"target": 1.0, "value": 1.5, "met": True}
    assert found["seqlab minus Trainer dev accuracy"] == {"target": 0.0, "value": -0.01, "met": False}
    slower = finetune.targets({"dev_acc": 0.899}, {"dev_acc": 0.899}, 99.0, 100.0)
    assert [t["met"] for t in slower.values()] == [False, False, True]
    with pytest.raises(SeqlabError, match="seqlab quality run gave no dev accuracy"):
        finetune.targets({"dev_acc": None}, {"dev_acc": 0.9}, 1.0, 1.0)
    with pytest.raises(SeqlabError, match="positive"):
        finetune.speed_ratio(1.0, 0.0)


def test_the_two_sides_as_a_case_of_the_summary():
    quality = {"trainer": {"dev_acc": 0.9, "test_acc": 0.88}, "seqlab": {"dev_acc": 0.91, "test_acc": 0.89}}
    speed = {"trainer": [{"examples_per_sec": 100.0, "peak_rss_mib": 900.0, "first_step_sec": 20.0},
                         {"examples_per_sec": 120.0, "peak_rss_mib": 1000.0, "first_step_sec": 22.0}],
             "seqlab": [{"examples_per_sec": 132.0, "peak_rss_mib": 800.0, "first_step_sec": 11.0},
                        {"examples_per_sec": 88.0, "peak_rss_mib": 800.0, "first_step_sec": None}]}
    case = finetune.as_case(quality, speed)
    assert case["sides"]["trainer"] == {"examples_per_sec": 110.0, "peak_rss_mib": 950.0, "first_step_sec": 21.0,
                                        "runs": 2, "best_val_acc": 0.9, "test_acc": 0.88}
    assert case["sides"]["seqlab"]["first_step_sec"] == 11.0  # the run that gave one
    assert case["ratios"] == {"trainer": {"examples_per_sec": 1.0, "peak_rss_mib": 0.842, "first_step_sec": 0.524,
                                          "best_val_acc": 1.011, "test_acc": 1.011}}


def preset_config(**changes) -> OmegaConf:
    cfg = OmegaConf.create({
        "seed": 7,
        "trainer": {"accelerator": "cpu", "precision": "32-true", "max_epochs": 3, "gradient_clip_val": 1.0,
                    "accumulate_grad_batches": 1},
        "dataset": {"batch_size": 32, "eval_batch_size": 256, "tokenizer": {"max_length": 64}, "data_dir": "/d/sst2",
                    "test_fraction": 0.05, "split_seed": 1234, "max_train_samples": None},
        "model": {"net": {"pretrained": "sentence-transformers/all-MiniLM-L6-v2", "freeze": [], "layer_lr_decay": 1.0},
                  "optimizer": {"lr": 5e-5, "weight_decay": 0.01, "betas": [0.9, 0.98]},
                  "scheduler": {"_target_": finetune.LINEAR_SCHEDULE, "num_warmup_steps": 100}},
    })
    for key, value in changes.items():
        OmegaConf.update(cfg, key, value, merge=False)
    return cfg


def test_the_peer_is_given_the_presets_settings():
    assert finetune.peer_options(preset_config()) == [
        "--pretrained", "sentence-transformers/all-MiniLM-L6-v2", "--batch-size", "32", "--eval-batch-size", "256",
        "--lr", "5e-05", "--weight-decay", "0.01", "--warmup-steps", "100", "--epochs", "3", "--max-length", "64",
        "--seed", "7", "--adam-betas", "0.9,0.98", "--max-grad-norm", "1.0", "--gradient-accumulation-steps", "1",
        "--use-cpu", "--precision", "32", "--threads", "2", "dataset.data_dir=/d/sst2",
        "dataset.test_fraction=0.05", "dataset.split_seed=1234", "dataset.max_train_samples=null",
    ]
    on_gpu = finetune.peer_options(preset_config(**{"trainer.accelerator": "gpu", "trainer.precision": "bf16-mixed"}))
    assert "--use-cpu" not in on_gpu and on_gpu[on_gpu.index("--precision") + 1] == "bf16"
    auto = preset_config(**{"trainer.accelerator": "auto", "trainer.precision": "bf16-mixed"})
    with mock.patch("torch.cuda.is_available", return_value=False):  # where Lightning's auto picks the CPU
        assert "--use-cpu" in finetune.peer_options(auto)
    with mock.patch("torch.cuda.is_available", return_value=True):
        assert "--use-cpu" not in finetune.peer_options(auto)
    with pytest.raises(SeqlabError, match="model.optimizer.lr"):
        finetune.peer_options(preset_config(**{"model.optimizer.lr": None}))
    with pytest.raises(SeqlabError, match="one rate"):
        finetune.peer_options(preset_config(**{"model.net.freeze": ["embeddings"]}))
    with pytest.raises(SeqlabError, match="one rate"):
        finetune.peer_options(preset_config(**{"model.net.layer_lr_decay": 0.9}))
    with pytest.raises(SeqlabError, match="linearly"):
        finetune.peer_options(preset_config(**{"model.scheduler._target_": "torch.optim.lr_scheduler.StepLR"}))


def tiny_bert(folder: Path) -> Path:
    """A BERT of one small layer with a WordPiece vocabulary of the test sentences' words, saved the Hugging Face
    way (config.json, model.safetensors, tokenizer files) as the packaged encoder is."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder.mkdir(parents=True)
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *FILLER, *POSITIVE, *NEGATIVE]) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(vocab))
    tokenizer.save_pretrained(folder)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64, num_labels=2)
    BertForSequenceClassification(config).save_pretrained(folder)
    return folder


def test_trainer_peer_writes_its_figures(tmp_path, monkeypatch):
    data = write_sst2_layout(tmp_path / "data" / "sst2", n_train=24, n_dev=8)
    model = tiny_bert(tmp_path / "tiny-bert")
    out = tmp_path / "peer.json"
    command = ["--json", str(out), "--pretrained", str(model), "--output-dir", str(tmp_path / "peer"),
               "--batch-size", "4", "--eval-batch-size", "8", "--lr", "1e-3", "--warmup-steps", "2", "--epochs", "2",
               "--max-length", "8", "--threads", "1", "--use-cpu", f"dataset.data_dir={data}",
               "dataset.test_fraction=0.25"]
    monkeypatch.chdir(tmp_path)
    hf_trainer_classification.main(command)
    figures = json.loads(out.read_text())
    # seqlab's carve-out: 25% of 24 train rows held out as test, the dev file whole
    assert figures["rows"] == {"train": 18, "val": 8, "test": 6}
    assert figures["epochs_run"] == 2 and figures["steps"] == 10  # ceil(18 / 4) = 5 steps an epoch
    assert figures["training_examples"] == 36  # both epochs' rows, the short last batch counted as it is
    assert len(figures["epoch_seconds"]) == 2 and len(figures["dev_acc_per_epoch"]) == 2
    assert figures["dev_acc"] == max(figures["dev_acc_per_epoch"])  # the best epoch is the one kept
    assert figures["test_acc"] in {i / 6 for i in range(7)}
    assert figures["examples_per_sec"] == pytest.approx(36 / figures["training_seconds"], rel=0.01)
    assert figures["stopped_by_budget"] is False and figures["peak_rss_mib"] > 0
