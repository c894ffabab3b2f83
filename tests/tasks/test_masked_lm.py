"""Masked-language-model pretraining (experiment=bert_pretrain): the masking rule, runs through the same config and
code path as `python pipelines/train.py`, what they log, and the runs that start from them through mlflow:<run_id>
with the lineage tags on both ends."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from mlflow.tracking import MlflowClient
from test_lm_training import make_generate

from killed_runs import killed_then_resumed
from seqlab.commands.generate import generate
from seqlab.commands.train import train
from seqlab.data.masked_language_model_datamodule import MaskedLanguageModelDataModule
from seqlab.data.wordpiece_tokenizer import (
    SPECIAL_TOKENS,
    WordPieceOptions,
    train_wordpiece_tokenizer,
    wordpiece_from_str,
)
from seqlab.errors import SeqlabError
from seqlab.tasks.masked_language_model import MaskedLanguageModelTask
from seqlab.tracking.lineage import FINETUNED_BY, PRETRAINED_FROM

from conftest import run_under, write_sst2_layout
from lm_corpus import play_text, write_tinyshakespeare_layout

TINY_BERT = ["model.net.hidden_size=32", "model.net.num_hidden_layers=2", "model.net.num_attention_heads=2",
             "model.net.intermediate_size=64", "dataset.tokenizer.vocab_size=100", "dataset.block_size=32",
             "model.scheduler.num_warmup_steps=2"]
BERT = ["experiment=bert_pretrain", "debug=smoke", "dataset.batch_size=8", "dataset.max_train_samples=64",
        "dataset.max_eval_samples=32", *TINY_BERT]
GPT2 = ["debug=smoke", "dataset.block_size=32", "dataset.batch_size=8", "dataset.max_train_samples=32",
        "dataset.max_eval_samples=16", "model.sample_max_new_tokens=10", "model.scheduler.num_warmup_steps=2"]
GPT2_TINY = ["model.net.n_layer=1", "model.net.n_head=2", "model.net.n_embd=32"]
METRICS = {"train/loss", "val/loss", "val/ppl", "val/masked_acc", "test/loss", "test/ppl", "test/masked_acc"}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def shakespeare_dir(tmp_path) -> Path:
    return write_tinyshakespeare_layout(tmp_path / "data" / "tinyshakespeare")


def test_wordpiece_tokenizer_is_the_same_for_the_same_text_and_adds_cls_and_sep():
    text = play_text(300)
    trained = {train_wordpiece_tokenizer([text], WordPieceOptions(vocab_size=100)).backend_tokenizer.to_str()
               for _ in range(6)}
    assert len(trained) == 1  # the trainer alone gives a different vocabulary almost every time
    tokenizer = wordpiece_from_str(trained.pop())
    assert len(tokenizer) == 100 and tokenizer.convert_ids_to_tokens(range(5)) == SPECIAL_TOKENS
    ids = tokenizer("Sweet ROMEO [MASK]").input_ids
    assert ids[0] == tokenizer.cls_token_id and ids[-2:] == [tokenizer.mask_token_id, tokenizer.sep_token_id]
    assert tokenizer.decode(ids, skip_special_tokens=True) == "sweet romeo"


@pytest.mark.parametrize("vocab_size, message", [
    (40, r"vocab_size=40 is below what the tokenizer can reach: .* make \d+ tokens; set dataset.tokenizer.vocab_size "
         r"to at least \d+"),
    (5000, r"vocab_size=5000 is more than the tokenizer can reach: the train split yields \d+ tokens .*; set "
           r"dataset.tokenizer.vocab_size to at most \d+"),
])
def test_a_vocabulary_size_the_corpus_cannot_give_fails_the_run(compose_cfg, shakespeare_dir, tracking_uri, tmp_path,
                                                                vocab_size, message):
    with pytest.raises(SeqlabError, match=message):
        train(compose_cfg([*BERT, f"dataset.tokenizer.vocab_size={vocab_size}"]))
    assert run_under(tracking_uri, tmp_path).info.status == "FAILED"


def test_positions_shorter_than_a_block_stop_the_run_before_training(compose_cfg, shakespeare_dir):
    with pytest.raises(SeqlabError, match=r"model.net.max_position_embeddings=16 is shorter than "
                                          r"dataset.block_size=32: .* at least 32"):
        train(compose_cfg([*BERT, "model.net.max_position_embeddings=16"]))


def test_a_corpus_shorter_than_one_block_fails_the_run(compose_cfg, tmp_path, tracking_uri):
    folder = tmp_path / "data" / "tinyshakespeare"
    folder.mkdir(parents=True)
    (folder / "input.txt").write_text("ROMEO:\nGood night, good night.\n" * 4)
    with pytest.raises(SeqlabError, match=r"the corpus is too short: its train split \(90% of .*input.txt\) has \d+ "
                                          r"tokens, fewer than one block of dataset.block_size=128 needs \(127\)"):
        train(compose_cfg([*BERT, "dataset.block_size=128", "dataset.tokenizer.vocab_size=35"]))
    assert run_under(tracking_uri, tmp_path).info.status == "FAILED"


def corpus_datamodule(folder: Path, **kwargs) -> MaskedLanguageModelDataModule:
    (folder / "a.txt").write_text(play_text(600), encoding="utf-8")
    options = {"block_size": 32, "batch_size": 16, "eval_batch_size": 16, "tokenizer": {"vocab_size": 100}}
    datamodule = MaskedLanguageModelDataModule("corpus", data_dir=str(folder), files=["a.txt"], **options | kwargs)
    datamodule.setup()
    return datamodule


def test_masking_chooses_15_percent_and_masks_80_randomises_10_keeps_10(tmp_path):
    datamodule = corpus_datamodule(tmp_path)
    tokenizer = datamodule.tokenizer
    special = torch.tensor(tokenizer.all_special_ids)
    chosen = ordinary = masked = kept = 0
    for batch in datamodule.train_dataloader():
        ids, labels = batch["input_ids"], batch["labels"]
        picked = labels != -100
        originals = torch.where(picked, labels, ids)  # the block before masking
        assert not torch.isin(originals[picked], special).any()  # [CLS], [SEP], [PAD] are never chosen
        ordinary += int((~torch.isin(originals, special)).sum())
        chosen += int(picked.sum())
        masked += int((ids[picked] == tokenizer.mask_token_id).sum())
        kept += int((ids[picked] == labels[picked]).sum())
    randomised = chosen - masked - kept
    assert chosen > 1500  # enough for the shares below to be a test of the rule
    assert chosen / ordinary == pytest.approx(0.15, abs=0.015)
    assert masked / chosen == pytest.approx(0.80, abs=0.03)
    assert kept / chosen == pytest.approx(0.10 + 0.10 / len(tokenizer), abs=0.025)  # a random token may be its own
    assert randomised / chosen == pytest.approx(0.10, abs=0.025)


def test_masks_follow_the_seed_and_leave_the_global_random_state_alone(tmp_path):
    datamodule = corpus_datamodule(tmp_path)
    torch.manual_seed(0)
    first = [b["labels"] for b in datamodule.val_dataloader()]
    after_first = torch.rand(3)
    torch.manual_seed(0)
    again = [b["labels"] for b in datamodule.val_dataloader()]
    assert torch.equal(torch.rand(3), after_first)  # masking ran on a random state of its own
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))  # every epoch validates on one mask
    assert torch.equal(next(iter(datamodule.train_dataloader()))["labels"],
                       next(iter(datamodule.train_dataloader()))["labels"])  # as a resumed run masks: the same
    datamodule.shuffle_seed = 7
    assert not torch.equal(first[0], next(iter(datamodule.val_dataloader()))["labels"])


def logged_model(tracking_uri: str, run_id: str, folder: Path) -> Path:
    return Path(MlflowClient(tracking_uri).download_artifacts(run_id, "model", str(folder)))


def test_bert_pretrain_logs_its_metrics_and_a_model_a_classifier_fine_tunes_from(compose_cfg, shakespeare_dir,
                                                                                   tracking_uri, tmp_path,
                                                                                   monkeypatch):
    from transformers import AutoTokenizer, BertForMaskedLM, BertForSequenceClassification

    from seqlab.pretrained.transformers_models import resolve

    cfg = compose_cfg(BERT)
    value = train(cfg)
    run = run_under(tracking_uri, tmp_path)
    metrics = run.data.metrics
    assert run.info.status == "FINISHED" and run.data.tags["task"] == "masked_language_model"
    assert METRICS <= set(metrics) and value == pytest.approx(metrics["val/loss"])
    assert metrics["test/ppl"] == pytest.approx(math.exp(metrics["test/loss"]), rel=1e-4)
    assert PRETRAINED_FROM not in run.data.tags

    # the logged metrics are those of the logged model on the test blocks, recomputed here
    folder = logged_model(tracking_uri, run.info.run_id, tmp_path / "fetched")
    model, tokenizer = BertForMaskedLM.from_pretrained(folder).eval(), AutoTokenizer.from_pretrained(folder)
    assert model.config.hidden_size == 32 and model.config.num_hidden_layers == 2 and len(tokenizer) == 100
    assert tokenizer.convert_ids_to_tokens(tokenizer("Good night").input_ids) == ["[CLS]", "good", "night", "[SEP]"]
    datamodule = MaskedLanguageModelDataModule(**{k: v for k, v in cfg.dataset.items() if k != "_target_"})
    datamodule.tokenizer = tokenizer  # the run's own, as a checkpoint restores it
    datamodule.setup()
    losses, hits, count = 0.0, 0, 0
    with torch.no_grad():
        for batch in datamodule.test_dataloader():
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            picked = batch["labels"] != -100
            losses += float(torch.nn.functional.cross_entropy(logits[picked], batch["labels"][picked], reduction="sum"))
            hits += int((logits[picked].argmax(-1) == batch["labels"][picked]).sum())
            count += int(picked.sum())
    assert metrics["test/loss"] == pytest.approx(losses / count, rel=1e-4)
    assert metrics["test/masked_acc"] == pytest.approx(hits / count, abs=1e-6)

    # mlflow:<run_id> resolves to that folder, from which a sequence classifier takes the encoder
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    source = run.info.run_id
    classifier = BertForSequenceClassification.from_pretrained(resolve(f"mlflow:{source}"), num_labels=2)
    encoder = classifier.bert.state_dict()  # the masked LM's encoder, and a pooler of its own
    assert all(torch.equal(value, encoder[name]) for name, value in model.bert.state_dict().items())

    # sentiment_finetune from it, as a user runs it: both runs tagged, each naming the other
    write_sst2_layout(tmp_path / "data" / "sst2")
    finetune = compose_cfg(["experiment=sentiment_finetune", "debug=smoke", f"model.net.pretrained=mlflow:{source}",
                            "model.attention_sentences=0", "model.scheduler.num_warmup_steps=2"])
    finetune.paths.output_dir = str(tmp_path / "finetune" / "run")
    train(finetune)
    finetuned = run_under(tracking_uri, tmp_path / "finetune")
    assert finetuned.info.status == "FINISHED" and finetuned.data.tags[PRETRAINED_FROM] == source
    assert MlflowClient(tracking_uri).get_run(source).data.tags[FINETUNED_BY] == finetuned.info.run_id
    assert PRETRAINED_FROM not in MlflowClient(tracking_uri).get_run(source).data.tags


def test_sst2_sentences_pretrain_without_their_labels(compose_cfg, tmp_path, tracking_uri):
    write_sst2_layout(tmp_path / "data" / "sst2", n_train=400, n_dev=20)
    (tmp_path / "data" / "sst2" / "dev.tsv").write_text("not\tread\n")  # pretraining reads train.tsv alone
    cfg = compose_cfg([*BERT, "dataset=sst2_text"])
    train(cfg)
    run = run_under(tracking_uri, tmp_path)
    assert run.info.status == "FINISHED" and run.data.tags["dataset"] == "sst2_text"
    vocabulary = (tmp_path / "run" / "model" / "tokenizer.json").read_text()
    assert '"great"' in vocabulary and '"label"' not in vocabulary and '"sentence"' not in vocabulary


def test_continued_pretraining_of_the_packaged_minilm_keeps_its_tokenizer(compose_cfg, shakespeare_dir, tracking_uri,
                                                                           tmp_path):
    from transformers import AutoTokenizer

    from seqlab.pretrained.transformers_models import packaged_folder

    train(compose_cfg([*BERT, "model.net.pretrained=sentence-transformers/all-MiniLM-L6-v2",
                       "dataset.max_train_samples=4", "dataset.max_eval_samples=4", "dataset.batch_size=4"]))
    run = run_under(tracking_uri, tmp_path)
    assert run.info.status == "FINISHED" and METRICS <= set(run.data.metrics)
    saved = tmp_path / "run" / "model"
    packaged = packaged_folder("sentence-transformers/all-MiniLM-L6-v2")
    assert AutoTokenizer.from_pretrained(saved).get_vocab() == AutoTokenizer.from_pretrained(packaged).get_vocab()
    assert '"num_hidden_layers": 6' in (saved / "config.json").read_text()


def test_gpt2_pretrained_then_fine_tuned_through_mlflow_run_id_tags_both_runs(compose_cfg, tmp_path, tracking_uri,
                                                                              monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)  # where mlflow:<run_id> is looked up
    write_tinyshakespeare_layout(tmp_path / "first" / "data" / "tinyshakespeare")
    pretrain = compose_cfg(["experiment=gpt2_scratch", *GPT2, *GPT2_TINY, "dataset.tokenizer.kind=bpe",
                            "dataset.tokenizer.vocab_size=300"])
    pretrain.paths.data_dir = str(tmp_path / "first" / "data")
    pretrain.paths.output_dir = str(tmp_path / "pretrain" / "run")
    train(pretrain)
    source = run_under(tracking_uri, tmp_path / "pretrain").info.run_id

    other = tmp_path / "data" / "text_files"  # another corpus
    other.mkdir(parents=True)
    (other / "notes.txt").write_text(play_text(200, seed=9).lower(), encoding="utf-8")
    finetuned = []
    for i in range(2):
        cfg = compose_cfg(["experiment=gpt2_finetune", "dataset=text_files", *GPT2,
                           f"model.net.pretrained=mlflow:{source}"])
        cfg.paths.output_dir = str(tmp_path / f"finetune{i}" / "run")
        train(cfg)
        run = run_under(tracking_uri, tmp_path / f"finetune{i}")
        assert run.info.status == "FINISHED" and run.data.tags[PRETRAINED_FROM] == source
        finetuned.append(run.info.run_id)
    client = MlflowClient(tracking_uri)
    assert client.get_run(source).data.tags[FINETUNED_BY] == ",".join(finetuned)  # each appended, in order
    tokenizer_file = "tokenizer.json"
    assert (tmp_path / "finetune0" / "run" / "model" / tokenizer_file).read_text() == (
        tmp_path / "pretrain" / "run" / "model" / tokenizer_file).read_text()  # the pretraining run's own tokenizer

    failed_run(compose_cfg, tracking_uri, tmp_path / "bert",
               [*BERT, "dataset=text_files", f"model.net.pretrained=mlflow:{source}"],
               rf"the tokenizer of 'mlflow:{source}' lacks \[MASK\], \[CLS\] or \[SEP\]: it is not a masked language "
               r"model's; give an encoder")
    # make generate loads either
    result = make_generate(f"run_id={finetuned[0]} prompt=ROMEO: max_new_tokens=10 do_sample=false", tracking_uri)
    assert result.returncode == 0, result.stderr
    [text] = generate(compose_cfg([f"run_id={source}", "prompt=ROMEO:", "max_new_tokens=10", "do_sample=false"],
                                  config_name="generate"))
    assert result.stdout.startswith("ROMEO:") and text.startswith("ROMEO:")
    assert result.stdout.strip() != text  # the fine-tuned model continues otherwise


def test_bert_pretraining_continues_from_a_bert_run_and_tags_it(compose_cfg, shakespeare_dir, tracking_uri, tmp_path,
                                                                monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    first = compose_cfg(BERT)
    first.paths.output_dir = str(tmp_path / "first" / "run")
    train(first)
    source = run_under(tracking_uri, tmp_path / "first").info.run_id
    second = compose_cfg([*BERT, f"model.net.pretrained=mlflow:{source}"])
    second.paths.output_dir = str(tmp_path / "second" / "run")
    train(second)
    run = run_under(tracking_uri, tmp_path / "second")
    assert run.info.status == "FINISHED" and run.data.tags[PRETRAINED_FROM] == source
    assert MlflowClient(tracking_uri).get_run(source).data.tags[FINETUNED_BY] == run.info.run_id
    assert (tmp_path / "second" / "run" / "model" / "tokenizer.json").read_text() == (
        tmp_path / "first" / "run" / "model" / "tokenizer.json").read_text()


def failed_run(compose_cfg, tracking_uri: str, folder: Path, overrides: list[str], message: str):
    cfg = compose_cfg(overrides)
    cfg.paths.output_dir = str(folder / "run")
    with pytest.raises(SeqlabError, match=message):
        train(cfg)
    run = run_under(tracking_uri, folder)
    assert run.info.status == "FAILED"
    return run


def test_mlflow_run_id_of_no_model_or_of_another_kind_fails_the_run_and_leaves_the_source_as_it_was(
        compose_cfg, shakespeare_dir, tracking_uri, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    first = compose_cfg(BERT)
    first.paths.output_dir = str(tmp_path / "source" / "run")
    train(first)
    client = MlflowClient(tracking_uri)
    source = run_under(tracking_uri, tmp_path / "source")
    artifacts = {a.path for a in client.list_artifacts(source.info.run_id, "model")}

    wrong_kind = failed_run(compose_cfg, tracking_uri, tmp_path / "gpt2",
                            ["experiment=gpt2_finetune", *GPT2, f"model.net.pretrained=mlflow:{source.info.run_id}"],
                            rf"model.net.pretrained=mlflow:{source.info.run_id} is a BertForMaskedLM, not a text "
                            r"generator; give a causal language model: a GPT-2 run")
    assert wrong_kind.data.tags[PRETRAINED_FROM] == source.info.run_id
    failed_run(compose_cfg, tracking_uri, tmp_path / "nomodel",
               [*BERT, f"model.net.pretrained=mlflow:{wrong_kind.info.run_id}"],
               rf"model.net.pretrained=mlflow:{wrong_kind.info.run_id}: run \(FAILED\) has no logged model; give a "
               r"finished training run's id")

    after = client.get_run(source.info.run_id)
    assert after.info.status == "FINISHED" and after.data.tags == source.data.tags  # no fine-tuning listed
    assert {a.path for a in client.list_artifacts(source.info.run_id, "model")} == artifacts


def test_a_killed_pretraining_resumes_into_the_same_history(tmp_path, tracking_uri, compose_cfg, monkeypatch):
    """With the same masks for the same blocks: the resumed run's figures equal those of a run never stopped."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # in the killed process too: the same sums in the same order
    write_tinyshakespeare_layout(tmp_path / "data" / "tinyshakespeare", n_turns=1000)
    args = ["debug=smoke", "dataset.max_train_samples=null", "dataset.batch_size=8", "trainer.max_epochs=2",
            "callbacks.early_stopping=null", "callbacks.periodic_checkpoint.every_n_train_steps=10"]
    # 2 epochs of 112 steps: killed after the checkpoint of step 150, in the second
    killed_then_resumed(tmp_path, tracking_uri, compose_cfg, monkeypatch, ["experiment=bert_pretrain", *TINY_BERT],
                        MaskedLanguageModelTask, tuple(sorted(METRICS)), 150, args=args)


def test_the_source_run_lists_each_fine_tuning_once_and_a_source_that_cannot_take_the_tag_is_a_warning(
        tracking_uri, tmp_path, monkeypatch, capsys):
    from mlflow.tracking import MlflowClient as Client

    from seqlab.tracking.mlflow_tracker import MlflowTracker

    def started(name: str) -> MlflowTracker:
        tracker = MlflowTracker(tracking_uri)
        tracker.start("lineage-units", name, {}, {}, str(tmp_path / name))
        return tracker

    source, first, second = started("source"), started("first"), started("second")
    overwritten = []

    class RacingClient(Client):  # another run's list lands over the first write of this one
        def set_tag(self, run_id, key, value, **kwargs):
            super().set_tag(run_id, key, value, **kwargs)
            if not overwritten:
                overwritten.append(value)
                super().set_tag(run_id, key, first.run_id, **kwargs)

    first.record_fine_tuning(source.run_id)
    first.record_fine_tuning(source.run_id)  # a resumed run finishes again
    monkeypatch.setattr(second, "_client", lambda: RacingClient(tracking_uri))
    second.record_fine_tuning(source.run_id)
    assert overwritten == [f"{first.run_id},{second.run_id}"]
    assert Client(tracking_uri).get_run(source.run_id).data.tags[FINETUNED_BY] == f"{first.run_id},{second.run_id}"

    Client(tracking_uri).delete_run(source.run_id)
    started("third").record_fine_tuning(source.run_id)
    warning = f"warning: could not list this run in the {FINETUNED_BY} tag of run {source.run_id}"
    assert warning in capsys.readouterr().err
