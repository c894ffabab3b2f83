"""Fine-tuning a pretrained encoder as a text classifier (model=pretrained_classifier), through the same config and
code path as `python pipelines/train.py experiment=sentiment_finetune`, on a tiny BERT saved with save_pretrained."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
from mlflow.tracking import MlflowClient
from safetensors.torch import load_file

from seqlab.commands.predict import predict
from seqlab.commands.train import train
from seqlab.errors import SeqlabError
from seqlab.inference.text_classifier import TextClassifier
from seqlab.tracking.lineage import FINETUNED_BY, PRETRAINED_FROM

from conftest import run_under
from logged_models import check_logged_model


def finetune_args(pretrained, *extra: str) -> list[str]:
    return ["experiment=sentiment_finetune", "debug=smoke", f"model.net.pretrained={pretrained}",
            "model.attention_sentences=0", "model.scheduler.num_warmup_steps=2", "model.optimizer.lr=0.001", *extra]


def test_finetunes_from_a_folder_and_again_from_its_run(compose_cfg, sst2_dir, tiny_bert, tracking_uri, tmp_path):
    assert train(compose_cfg(finetune_args(tiny_bert, "trainer.max_epochs=2"))) >= 0.0
    run = run_under(tracking_uri, tmp_path)
    assert run.info.status == "FINISHED"
    assert {"train/examples_per_sec", "train/epoch_sec", "val/acc", "test/acc"} <= set(run.data.metrics)
    history = MlflowClient(tracking_uri).get_metric_history(run.info.run_id, "train/examples_per_sec")
    assert len(history) == 2 and all(m.value > 0 for m in history)  # one figure an epoch

    # the pyfunc model labels the test texts as the trained model did (reports/predictions.csv)
    with open(tmp_path / "run" / "reports" / "predictions.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    predicted = check_logged_model(tracking_uri, run.info.run_id, [r["text"] for r in rows],
                                   {"torch", "tokenizers", "safetensors", "transformers", "huggingface_hub"})
    assert list(predicted["label"]) == [r["predicted"] for r in rows]
    assert list(predicted["probability"]) == pytest.approx([float(r["probability"]) for r in rows], abs=2e-4)
    # and so does make predict
    cfg = compose_cfg([f"run_id={run.info.run_id}", f"texts={[r['text'] for r in rows[:3]]}"], "predict")
    cfg.tracking_uri = tracking_uri
    assert [r["label"] for r in predict(cfg)] == [r["predicted"] for r in rows[:3]]
    best = next((tmp_path / "run" / "checkpoints").glob("epoch*.ckpt"))  # the weights tested
    from_checkpoint = TextClassifier.from_checkpoint(best).predict([r["text"] for r in rows])
    assert [r["label"] for r in from_checkpoint] == [r["predicted"] for r in rows]

    # the logged model is a save_pretrained folder: mlflow:<run_id> fine-tunes from it again
    again = tmp_path / "again"
    cfg = compose_cfg(finetune_args(f"mlflow:{run.info.run_id}"))
    cfg.paths.output_dir = str(again / "run")
    assert train(cfg) >= 0.0
    second = run_under(tracking_uri, again)
    assert second.info.status == "FINISHED"
    assert second.data.params["model.net.pretrained"] == f"mlflow:{run.info.run_id}"
    assert second.data.tags[PRETRAINED_FROM] == run.info.run_id  # lineage, both ways
    assert MlflowClient(tracking_uri).get_run(run.info.run_id).data.tags[FINETUNED_BY] == second.info.run_id

    # a classifier is fine-tuned further only on data with its labels
    relabel = tmp_path / "relabel"
    cfg = compose_cfg(finetune_args(f"mlflow:{run.info.run_id}", "dataset.label_names=[bad,good]"))
    cfg.paths.output_dir = str(relabel / "run")
    with pytest.raises(SeqlabError, match=r"classifies into \['negative', 'positive'\], the data into \['bad'"):
        train(cfg)
    assert run_under(tracking_uri, relabel).info.status == "FAILED"


def test_frozen_parts_keep_their_weights(compose_cfg, sst2_dir, tiny_bert, tmp_path):
    train(compose_cfg(finetune_args(tiny_bert, "model.net.freeze=[embeddings,first_1_layers]", "logger=none")))
    before = load_file(tiny_bert / "model.safetensors")
    after = {k.removeprefix("bert."): v for k, v in load_file(tmp_path / "run" / "model" / "model.safetensors").items()}
    frozen = [k for k in before if k.startswith(("embeddings.", "encoder.layer.0."))]
    trained = [k for k in before if k.startswith("encoder.layer.1.")]
    assert frozen and trained
    assert all(before[k].equal(after[k]) for k in frozen)  # bit-identical
    assert not any(before[k].equal(after[k]) for k in trained if k.endswith(".weight"))


def test_attention_weights_come_when_asked(tiny_bert):
    import torch

    from seqlab.models.pretrained_classifier import PretrainedClassifier

    net = PretrainedClassifier(["a", "b"], str(tiny_bert)).eval()
    ids, mask = torch.tensor([[2, 10, 11, 3, 0]]), torch.tensor([[1, 1, 1, 1, 0]])
    logits, attentions = net(ids, mask, output_attentions=True)
    assert torch.allclose(logits, net(ids, mask), atol=1e-5)  # the same model, only its weights shown
    assert len(attentions) == 2 and attentions[0].shape == (1, 2, 5, 5)  # a map per layer, a row per head
    assert torch.allclose(attentions[1].sum(-1), torch.ones(1, 2, 5))
    assert attentions[0][..., 4].abs().max() == 0  # no attention to the pad
    assert net.model.config._attn_implementation == "sdpa"  # the fused kernel again for training


def test_layer_lr_decay_gives_lower_layers_smaller_rates(tiny_bert):
    from seqlab.models.pretrained_classifier import PretrainedClassifier

    net = PretrainedClassifier(["a", "b"], str(tiny_bert), layer_lr_decay=0.5)
    rates = {}
    for group in net.parameter_groups(1.0):
        for p in group["params"]:
            rates[id(p)] = group["lr"]
    named = {name: rates[id(p)] for name, p in net.named_parameters()}
    assert named["model.classifier.weight"] == 1.0
    assert named["model.bert.encoder.layer.1.attention.self.query.weight"] == 0.5
    assert named["model.bert.encoder.layer.0.attention.self.query.weight"] == 0.25
    assert named["model.bert.embeddings.word_embeddings.weight"] == 0.125
    one_rate = PretrainedClassifier(["a", "b"], str(tiny_bert)).parameter_groups(1.0)
    assert [(g["lr"], g.get("weight_decay")) for g in one_rate] == [(1.0, None), (1.0, 0.0)]  # decayed, not


def test_from_scratch_takes_the_architecture_not_the_weights_and_records_no_lineage(tiny_bert):
    import torch
    from transformers import AutoConfig

    from seqlab.models.pretrained_classifier import PretrainedClassifier
    from seqlab.tracking.lineage import weights_run

    saved = load_file(tiny_bert / "model.safetensors")
    loaded = PretrainedClassifier(["a", "b"], str(tiny_bert)).model.bert.state_dict()
    torch.manual_seed(1)
    scratch = PretrainedClassifier(["a", "b"], str(tiny_bert), from_scratch=True)
    drawn = scratch.model.bert.state_dict()
    torch.manual_seed(1)
    again = PretrainedClassifier(["a", "b"], str(tiny_bert), from_scratch=True).model.bert.state_dict()
    sizes = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
             "max_position_embeddings")
    config = AutoConfig.from_pretrained(tiny_bert)
    assert all(getattr(scratch.model.config, s) == getattr(config, s) for s in sizes)
    assert scratch.model.config.id2label == {0: "a", 1: "b"}
    matrices = [k for k in saved if k.endswith(".weight") and saved[k].dim() == 2]
    assert matrices and all(saved[k].equal(loaded[k]) for k in matrices)  # as saved: its pretraining
    assert not any(saved[k].equal(drawn[k]) for k in matrices)  # drawn anew, every one
    assert all(drawn[k].equal(again[k]) for k in drawn)  # from the seed
    # the run it came from lent its config and tokenizer, not its weights: no lineage
    assert weights_run({"pretrained": "mlflow:abc", "from_scratch": True}) is None
    assert weights_run({"pretrained": "mlflow:abc", "from_scratch": False}) == "abc"
    assert weights_run({"pretrained": str(tiny_bert)}) is None and weights_run(None) is None


@pytest.mark.parametrize(("override", "message"), [
    ("model.net.freeze=[decoder]", "model.net.freeze: unknown target 'decoder'; targets: embeddings, first_<k>_layers"),
    ("model.net.freeze=[first_5_layers]", "asks for more layers than the model's 2"),
    ("model.net.layer_lr_decay=0", "must lie in \\(0, 1\\]"),
])
def test_bad_options_end_the_run_failed(override, message, compose_cfg, sst2_dir, tiny_bert, tracking_uri, tmp_path):
    with pytest.raises(SeqlabError, match=message):
        train(compose_cfg(finetune_args(tiny_bert, override)))
    assert run_under(tracking_uri, tmp_path).info.status == "FAILED"


def test_a_name_that_is_nothing_lists_the_forms(compose_cfg, sst2_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SeqlabError, match="hub cannot be reached.*a hub name .*save_pretrained, or mlflow:<run_id>"):
        train(compose_cfg(finetune_args("no-such-org/no-such-model", "logger=none")))


def test_a_folder_that_is_not_there_is_named(compose_cfg, sst2_dir, tracking_uri, tmp_path):
    with pytest.raises(SeqlabError, match="model.net.pretrained=/no/such/encoder: no such folder; model.net.pretrained "
                                          "takes a hub name"):
        train(compose_cfg(finetune_args("/no/such/encoder")))
    assert run_under(tracking_uri, tmp_path).info.status == "FAILED"


def test_a_text_generator_is_not_fine_tuned_as_a_classifier(compose_cfg, sst2_dir, tiny_bert, tmp_path):
    from transformers import GPT2Config, GPT2LMHeadModel

    folder = shutil.copytree(tiny_bert, tmp_path / "gpt2")  # the tokenizer stays, the model is a GPT-2
    GPT2LMHeadModel(GPT2Config(n_layer=1, n_head=2, n_embd=16, vocab_size=200, n_positions=32)).save_pretrained(folder)
    with pytest.raises(SeqlabError, match="GPT2LMHeadModel \\(a text generator\\), not an encoder"):
        train(compose_cfg(finetune_args(folder, "logger=none")))


def test_texts_longer_than_the_positions_are_cut_and_counted(compose_cfg, sst2_dir, tiny_bert, capsys):
    train(compose_cfg(finetune_args(tiny_bert, "logger=none", "dataset.tokenizer.max_length=6")))
    err = capsys.readouterr().err
    assert err.count("cut texts longer than 6 tokens") == 1
    assert "train " in err.split("cut texts longer than 6 tokens")[1]


def test_attention_maps_of_dev_sentences_and_of_your_own(compose_cfg, sst2_dir, tiny_bert, tracking_uri, tmp_path):
    train(compose_cfg([*finetune_args(tiny_bert), "model.attention_sentences=2"]))
    pngs = sorted(p.name for p in (tmp_path / "run" / "reports" / "attention").rglob("*.png"))
    assert pngs == [f"attention-0{text}-layer0{layer}.png" for text in (1, 2) for layer in (1, 2)]  # per text, layer
    run = run_under(tracking_uri, tmp_path)
    assert {a.path for a in MlflowClient(tracking_uri).list_artifacts(run.info.run_id, "reports")} >= {
        "reports/attention"}
    cfg = compose_cfg([f"run_id={run.info.run_id}", "text=a wonderful film", f"attention={tmp_path / 'mine'}"],
                      "predict")
    cfg.tracking_uri = tracking_uri
    predict(cfg)
    assert len(list((tmp_path / "mine").rglob("*.png"))) == 2


def test_attention_maps_need_a_run(compose_cfg):
    cfg = compose_cfg(["checkpoint=x.ckpt", "text=hello", "attention=maps"], "predict")
    with pytest.raises(SeqlabError, match="attention=<folder> draws the attention of a run's model: pass run_id="):
        predict(cfg)


def test_own_files_with_three_classes(compose_cfg, tiny_bert, tmp_path):
    folder = tmp_path / "data" / "files"
    folder.mkdir(parents=True)
    rows = [("the film is great", "pos"), ("a dull movie", "neg"), ("the plot is a story", "neutral")] * 20
    for name in ("train.tsv", "dev.tsv"):
        (folder / name).write_text("text\tlabel\n" + "".join(f"{t}\t{y}\n" for t, y in rows), encoding="utf-8")
    train(compose_cfg(finetune_args(tiny_bert, "dataset=files", "logger=none")))
    saved = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    assert saved["id2label"] == {"0": "neg", "1": "neutral", "2": "pos"}  # the sorted labels found in train
    with open(tmp_path / "run" / "reports" / "predictions.csv", encoding="utf-8") as fh:
        assert {r["gold"] for r in csv.DictReader(fh)} <= {"neg", "neutral", "pos"}


def test_the_preset_fine_tunes_the_packaged_minilm_offline(compose_cfg, monkeypatch):
    from seqlab.pretrained.transformers_models import load_config, load_tokenizer

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = compose_cfg(["experiment=sentiment_finetune"])
    assert cfg.model.net.pretrained == cfg.dataset.tokenizer.pretrained == "sentence-transformers/all-MiniLM-L6-v2"
    config = load_config(cfg.model.net.pretrained)
    assert (config.model_type, config.num_hidden_layers, config.hidden_size) == ("bert", 6, 384)
    assert load_tokenizer(cfg.model.net.pretrained)("Hello World")["input_ids"] == [101, 7592, 2088, 102]  # uncased
