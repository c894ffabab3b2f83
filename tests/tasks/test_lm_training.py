"""End-to-end language-model runs (textgen_rnn, gpt2_scratch, gpt2_finetune from a local folder) through the same
config and code path as `python pipelines/train.py`, then `make generate` on what they logged."""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
import torch
from mlflow.tracking import MlflowClient

from seqlab.commands.train import train
from seqlab.errors import SeqlabError

from conftest import ROOT, run_under
from lm_corpus import play_text, tiny_gpt2, write_tinyshakespeare_layout
from logged_models import check_logged_model

TINY = ["debug=smoke", "dataset.block_size=32", "dataset.batch_size=8", "dataset.max_train_samples=64",
        "dataset.max_eval_samples=16", "model.sample_max_new_tokens=30", "model.scheduler.num_warmup_steps=2"]
EPOCH_METRICS = {"train/loss", "val/loss", "val/ppl", "train/tokens_per_sec", "train/epoch_sec"}
FINAL_METRICS = {"test/loss", "test/ppl"}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def shakespeare_dir(tmp_path) -> Path:
    """A small play in data/tinyshakespeare/input.txt under the test's data dir."""
    return write_tinyshakespeare_layout(tmp_path / "data" / "tinyshakespeare")


def artifact_paths(client: MlflowClient, run_id: str, path: str | None = None) -> set[str]:
    return {a.path for a in client.list_artifacts(run_id, path)}


def make_generate(args: str, tracking_uri: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "OMP_NUM_THREADS": "1"}
    return subprocess.run(["make", "-s", "generate", f"PY={sys.executable}", f"ARGS={args}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def assert_logged_generator_continues_as_its_folder(tracking_uri: str, run_id: str, folder: Path,
                                                   downloads: Path) -> Path:
    """The run's pyfunc model (greedy, through params) continues prompts as the model folder the run wrote; returns
    that folder as the logged model holds it (its one folder under artifacts/), downloaded under `downloads`."""
    from seqlab.inference.generation_options import GenerationOptions
    from seqlab.inference.text_generator import TextGenerator

    prompts = ["ROMEO:", "JULIET:"]
    libraries = {"torch", "tokenizers", "safetensors", "transformers", "huggingface_hub"}
    answer = check_logged_model(tracking_uri, run_id, prompts, libraries, {"max_new_tokens": 12, "do_sample": False})
    generator, options = TextGenerator.from_directory(folder), GenerationOptions(max_new_tokens=12, do_sample=False)
    assert list(answer["prompt"]) == prompts
    assert list(answer["generated_text"]) == [generator.generate(p, options)[0] for p in prompts]
    logged = mlflow.artifacts.download_artifacts(f"runs:/{run_id}/model", dst_path=str(downloads))
    [folder] = (Path(logged) / "artifacts").iterdir()
    return folder


def test_textgen_rnn_lands_a_finished_run_with_perplexity_and_samples(compose_cfg, shakespeare_dir, tracking_uri,
                                                                        tmp_path):
    cfg = compose_cfg(["experiment=textgen_rnn", *TINY, "trainer.max_epochs=2", "model.net.hidden_size=48",
                       "model.net.embed_dim=16", "model.net.tie_weights=true"])
    value = train(cfg)
    client = MlflowClient(tracking_uri)
    run = run_under(tracking_uri, tmp_path)
    metrics = run.data.metrics
    assert run.info.status == "FINISHED"
    assert EPOCH_METRICS | FINAL_METRICS | {"val/bpc", "test/bpc"} <= set(metrics)
    assert value == pytest.approx(min(m.value for m in client.get_metric_history(run.info.run_id, "val/loss")))
    assert len(client.get_metric_history(run.info.run_id, "val/ppl")) == 2  # one per epoch
    assert metrics["test/ppl"] == pytest.approx(math.exp(metrics["test/loss"]), rel=1e-4)
    assert metrics["test/bpc"] == pytest.approx(metrics["test/loss"] / math.log(2), rel=1e-4)
    inputs = {i.dataset.name: json.loads(i.dataset.profile)["num_rows"] for i in run.inputs.dataset_inputs}
    assert set(inputs) == {"tinyshakespeare-train", "tinyshakespeare-val", "tinyshakespeare-test"}
    assert inputs["tinyshakespeare-train"] > inputs["tinyshakespeare-val"] > 0  # tokens of each share of the corpus
    assert metrics["val/loss"] < math.log(len(set(play_text())))  # learnt something beyond uniform guessing
    assert run.data.tags["model"] == "rnn_lm" and run.data.params["dataset.tokenizer.kind"] == "char"
    corpus = (shakespeare_dir / "input.txt").read_bytes()
    assert run.data.params["data.sha256.input.txt"] == hashlib.sha256(corpus).hexdigest()
    assert {"samples", "reports", "tokenizer", "config.yaml", "checkpoints"} <= artifact_paths(client, run.info.run_id)
    assert_logged_generator_continues_as_its_folder(tracking_uri, run.info.run_id, tmp_path / "run" / "model",
                                                    tmp_path / "logged")
    samples = (tmp_path / "run" / "reports" / "samples.txt").read_text()
    assert "epoch 0" in samples and "epoch 1" in samples and "final model" in samples
    assert samples.count("--- prompt: 'ROMEO:'\nROMEO:") == 3
    logged = Path(client.download_artifacts(run.info.run_id, "samples/samples.txt", str(tmp_path)))
    assert "epoch 1" in logged.read_text()

    (tmp_path / "prompt.txt").write_text("JULIET:\n")  # a prompt with a newline, from a file
    result = make_generate(f"run_id={run.info.run_id} prompt_file={tmp_path / 'prompt.txt'} max_new_tokens=40 "
                           "top_k=5 seed=3", tracking_uri)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("JULIET:\n") and len(result.stdout) > len("JULIET:\n") + 5
    assert not [line for line in result.stderr.splitlines() if line.strip()]  # no progress bar, no warning


def test_gpt2_scratch_run_saves_a_model_that_from_pretrained_loads(compose_cfg, shakespeare_dir, tracking_uri,
                                                                     tmp_path, capsys):
    from transformers import AutoTokenizer, GPT2LMHeadModel

    cfg = compose_cfg(["experiment=gpt2_scratch", *TINY, "model.net.n_layer=1", "model.net.n_head=2",
                       "model.net.n_embd=32"])
    train(cfg)
    client = MlflowClient(tracking_uri)
    run = run_under(tracking_uri, tmp_path)
    assert run.info.status == "FINISHED"
    assert EPOCH_METRICS | FINAL_METRICS | {"val/bpc"} <= set(run.data.metrics)
    assert run.data.tags["model"] == "gpt2"
    assert "samples" in artifact_paths(client, run.info.run_id)
    folder = assert_logged_generator_continues_as_its_folder(tracking_uri, run.info.run_id, tmp_path / "run" / "model",
                                                             tmp_path / "logged")
    model, tokenizer = GPT2LMHeadModel.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)
    assert model.config.n_positions == 32 and model.config.n_layer == 1
    assert model.config.eos_token_id == tokenizer.eos_token_id == tokenizer.pad_token_id
    assert tokenizer.decode(tokenizer.encode("ROMEO:\nSweet night.")) == "ROMEO:\nSweet night."

    from seqlab.commands.generate import generate

    capsys.readouterr()
    [text] = generate(compose_cfg([f"pretrained={folder}", "prompt=ROMEO:", "max_new_tokens=20", "do_sample=false"],
                                  config_name="generate"))
    assert capsys.readouterr().out == text + "\n" and text.startswith("ROMEO:")  # streamed as it came
    # past the context of 32 tokens (the issue's own example: 200 new tokens): the window slides
    [text] = generate(compose_cfg([f"pretrained={folder}", "prompt=ROMEO:", "max_new_tokens=200", "min_new_tokens=200",
                                   "do_sample=false"], config_name="generate"))
    assert capsys.readouterr().out == text + "\n" and len(text) == len("ROMEO:") + 200  # one character a token
    with pytest.raises(SeqlabError, match=r"the prompt is 40 tokens long, longer than the model's context of 32"):
        generate(compose_cfg([f"pretrained={folder}", f"prompt={'x' * 40}"], config_name="generate"))


def test_gpt2_finetune_from_a_local_folder_uses_its_tokenizer(compose_cfg, shakespeare_dir, tracking_uri, tmp_path):
    """A pretrained folder (a tiny GPT-2 and a BPE tokenizer saved with save_pretrained) stands in for the hub."""
    from seqlab.data.text_tokenizer import TextTokenizerOptions, train_text_tokenizer
    from seqlab.inference.text_generator import TextGenerator

    tokenizer = train_text_tokenizer([play_text(100, seed=5)], TextTokenizerOptions(kind="bpe", vocab_size=300))
    TextGenerator(tiny_gpt2(len(tokenizer), n_positions=64), tokenizer).save_pretrained(tmp_path / "pretrained")
    cfg = compose_cfg(["experiment=gpt2_finetune", *TINY, f"model.net.pretrained={tmp_path / 'pretrained'}"])
    assert cfg.dataset.tokenizer.pretrained == str(tmp_path / "pretrained")
    train(cfg)
    run = run_under(tracking_uri, tmp_path)
    assert run.info.status == "FINISHED"
    assert EPOCH_METRICS | FINAL_METRICS <= set(run.data.metrics)
    assert "val/bpc" not in run.data.metrics  # tokens are not characters
    saved = (tmp_path / "run" / "model" / "tokenizer.json").read_text()
    assert saved == (tmp_path / "pretrained" / "tokenizer.json").read_text()


def test_text_files_with_a_word_tokenizer_and_a_gru(compose_cfg, tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for i in range(3):
        (folder / f"part{i}.txt").write_text(play_text(60, seed=i), encoding="utf-8")
    (folder / "notes.md").write_text("not part of the corpus")
    cfg = compose_cfg(["experiment=textgen_rnn", "dataset=text_files", f"dataset.data_dir={folder}",
                       "dataset.tokenizer.kind=word", "model.net.cell=gru", *TINY, "logger=csv"])
    value = train(cfg)
    assert value is not None and not math.isnan(value)
    run_dir = tmp_path / "run"
    assert (run_dir / "csv" / "status").read_text().strip() == "FINISHED"
    assert "val/ppl" in (run_dir / "csv" / "metrics.csv").read_text().splitlines()[0]
    assert "val/bpc" not in (run_dir / "csv" / "metrics.csv").read_text()


def test_corpus_shorter_than_one_block_fails_the_run(compose_cfg, tmp_path, tracking_uri):
    folder = tmp_path / "data" / "tinyshakespeare"
    folder.mkdir(parents=True)
    (folder / "input.txt").write_text("ROMEO:\nGood night.\n" * 5)
    with pytest.raises(SeqlabError, match=r"the corpus is too short: its train split \(90% of .*input.txt\) has \d+ "
                                          r"tokens, fewer than one block of dataset.block_size=128"):
        train(compose_cfg(["experiment=textgen_rnn", "debug=smoke"]))
    assert run_under(tracking_uri, tmp_path).info.status == "FAILED"


def test_pretrained_name_offline_fails_the_run_with_how_to_pass_a_folder(compose_cfg, shakespeare_dir, tracking_uri,
                                                                           monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SeqlabError, match=r"cannot load pretrained 'seqlab-tests/never-cached-gpt2'.*"
                                          r"model.net.pretrained=/path/to/folder"):
        train(compose_cfg(["experiment=gpt2_finetune", "debug=smoke",
                           "model.net.pretrained=seqlab-tests/never-cached-gpt2"]))
    assert run_under(tracking_uri, tmp_path).info.status == "FAILED"


@pytest.mark.parametrize("option, value, message", [
    ("sample_temperature", 0.0, r"model.sample_temperature=0.0 must be above 0"),
    ("sample_top_k", -1, r"model.sample_top_k=-1 must be 0 \(off\) or a positive number"),
    ("sample_max_new_tokens", 0, r"model.sample_max_new_tokens=0 must be at least 1"),
])
def test_bad_sample_options_fail_before_training(compose_cfg, shakespeare_dir, tracking_uri, option, value, message,
                                                monkeypatch, tmp_path):
    from seqlab.tasks.language_model import LanguageModelTask

    fitted = []
    monkeypatch.setattr("lightning.pytorch.Trainer.fit", lambda *args, **kwargs: fitted.append(args))
    with pytest.raises(SeqlabError, match=message):
        train(compose_cfg(["experiment=textgen_rnn", *TINY, f"model.{option}={value}"]))
    assert not fitted and run_under(tracking_uri, tmp_path).info.status == "FAILED"
    with pytest.raises(SeqlabError, match=message):
        LanguageModelTask(torch.nn.Linear(1, 1), optimizer=None, **{option: value})


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["pretrained=gpt2", "prompt="], "the prompt is empty"),
        (["pretrained=gpt2", "prompt=ROMEO:", "temperature=0"], r"temperature=0.0 must be above 0"),
        (["pretrained=gpt2", "prompt=ROMEO:", "top_p=1.5"], r"top_p=1.5 must lie in \(0, 1\]"),
        (["prompt=ROMEO:"], "pass exactly one of run_id=<MLflow run id>, model=models:/<name>@<alias> or "
                            "pretrained=<saved folder or hub name"),
        (["prompt=ROMEO:", "run_id=0123456789abcdef"], "no MLflow run '0123456789abcdef'"),
        (["prompt=ROMEO:", "model_uri=models:/no-such-model@champion"], "no registered model 'no-such-model'"),
        (["prompt=ROMEO:", "run_id=0123", "model_uri=models:/x/1"], "pass run_id=<id> or model=models:/.*, not both"),
    ],
)
def test_generate_refuses_bad_input_before_loading_anything(compose_cfg, tracking_uri, overrides, message):
    from seqlab.commands.generate import generate

    cfg = compose_cfg([*overrides, f"tracking_uri={tracking_uri}"], config_name="generate")
    with pytest.raises(SeqlabError, match=message):
        generate(cfg)


def test_perplexity_of_a_confident_miss_is_finite_and_is_exp_of_the_token_mean_loss(monkeypatch):
    """A softmax that underflows to 0 on the right token made torchmetrics' perplexity inf; exp(loss) is exact."""
    from seqlab.tasks.language_model import LanguageModelTask

    class Confident(torch.nn.Module):
        def forward(self, input_ids):
            logits = torch.zeros(*input_ids.shape, 5)
            logits[..., 0] = 110.0  # all but certain of token 0
            return logits

    task = LanguageModelTask(Confident(), optimizer=None)
    logged = {}
    monkeypatch.setattr(task, "log_dict", lambda metrics, **kwargs: logged.update(metrics))
    task._evaluate({"input_ids": torch.zeros(2, 3, dtype=torch.long), "labels": torch.full((2, 3), 3)}, "val")
    task._log_epoch("val")
    assert logged["val/loss"] == pytest.approx(110.0, rel=1e-4)  # every target token (3) missed by 110 nats
    assert math.isfinite(logged["val/ppl"]) and logged["val/ppl"] == pytest.approx(math.exp(110.0), rel=1e-3)
