"""Each command's --help shows its own usage and options, not another command's."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.parametrize("script, usage, option", [
    ("train.py", "python pipelines/train.py [group=option ...]", "experiment: bert_pretrain, gpt2_finetune"),
    ("predict.py", "python pipelines/predict.py run_id=<id>", "checkpoint: null"),
    ("generate.py", "python pipelines/generate.py run_id=<id> prompt=", "max_new_tokens: 200"),
    ("translate.py", "python pipelines/translate.py run_id=<id>", "beam_size: null"),
    ("ner.py", 'python pipelines/ner.py text="Apple is looking at buying U.K. startup for $1 billion."',
     "pipeline: en_core_web_sm"),
    ("compare.py", "python pipelines/compare.py experiment=sst2-classification", "Options (key=value): experiment"),
    ("transfer_report.py", "python pipelines/transfer_report.py [seeds=[1,2,3]]", "Options (key=value): families"),
])
def test_help_shows_the_commands_own_usage(script, usage, option):
    done = subprocess.run([sys.executable, f"pipelines/{script}", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert usage in done.stdout and option in done.stdout
    assert "== Configuration groups ==" not in done.stdout  # Hydra's generic page, with train's groups


def test_train_help_shows_examples_and_shell_completion():
    done = subprocess.run([sys.executable, "pipelines/train.py", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert "python pipelines/train.py --multirun hparams_search=sentiment_lstm_optuna" in done.stdout
    assert 'eval "$(python pipelines/train.py -sc install=bash)"' in done.stdout
    completion = subprocess.run([sys.executable, "pipelines/train.py", "-sc", "install=bash"], cwd=ROOT,
                                capture_output=True, text=True, timeout=120)
    assert completion.returncode == 0 and "complete" in completion.stdout  # the script the eval installs
