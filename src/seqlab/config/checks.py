"""Checks of a composed config before anything runs: unknown options, wrong types, a model that does not fit
the dataset's task. Each failure names the option and the choices."""

from __future__ import annotations

import inspect
import typing

from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import get_class
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import InterpolationToMissingValueError

from seqlab.config.hydra_context import hydra_choice
from seqlab.config.metric_direction import direction
from seqlab.config.project import CONF_DIR
from seqlab.errors import SeqlabError


def task_of(target: str) -> str:
    return getattr(get_class(target), "task_name", "unknown")


def models_for(task: str) -> list[str]:
    """The options of the `model` group whose _target_ is a model of `task`, read with Hydra's config loader
    (the one of the running app, or one over conf/ when called outside Hydra)."""
    if GlobalHydra.instance().is_initialized():
        return _fitting_options(GlobalHydra.instance().config_loader(), task)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return _fitting_options(GlobalHydra.instance().config_loader(), task)


def _fitting_options(loader, task: str) -> list[str]:
    fitting = []
    for option in sorted(loader.get_group_options("model")):
        node = loader.repository.load_config(f"model/{option}").config
        # the model's _target_, or one set in the _global_ package
        target = node.get("_target_") or OmegaConf.select(node, "model._target_")
        if target and task_of(str(target)) == task:
            fitting.append(option)
    return fitting


def check_model_fits_dataset(cfg: DictConfig) -> None:
    model_task = task_of(cfg.model._target_)
    data_task = task_of(cfg.dataset._target_)
    if model_task != data_task:
        model = hydra_choice("model", str(cfg.model.get("name") or cfg.model._target_.rsplit(".", 1)[-1]))
        fitting = models_for(data_task)
        choices = f"; models for {data_task}: {', '.join(fitting)}" if fitting else ""
        raise SeqlabError(
            f"model '{model}' is a {model_task} model and dataset '{cfg.dataset.name}' is a {data_task} "
            "dataset: "
            f"they do not fit{choices}"
        )


def check_arguments(node: DictConfig, where: str, supplied: frozenset[str] = frozenset()) -> None:
    """Every key of `node` is a parameter of its _target_, with a value of the annotated type; the message
    lists the parameters a config may set (not those `supplied` from the data)."""
    target = get_class(node._target_)
    params, hints = _parameters(target)
    for key in node:
        if key.startswith("_") or key == "name" and "name" not in params:
            continue
        if key not in params:
            options = ", ".join(sorted(params - supplied))
            raise SeqlabError(f"unknown option {where}.{key}; options of {target.__name__}: {options}")
        value = node[key]
        if key in hints and value is not None and not isinstance(value, (DictConfig, ListConfig)):
            _check_type(value, hints[key], f"{where}.{key}")


def _parameters(target) -> tuple[set[str], dict]:
    """The named parameters of target's constructor and their type hints; a constructor that passes **kwargs
    on to its base class's also takes that one's."""
    params: set[str] = set()
    hints: dict = {}
    for klass in target.__mro__:
        if "__init__" not in vars(klass):
            continue
        signature = inspect.signature(klass.__init__)
        kinds = {p.kind for p in signature.parameters.values()}
        named = {n for n, p in signature.parameters.items()
                 if n != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        hints = {**typing.get_type_hints(klass.__init__), **hints}
        params |= named
        if inspect.Parameter.VAR_KEYWORD not in kinds:
            break
    return params, hints


def _check_type(value, hint, name: str) -> None:
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        if value not in typing.get_args(hint):
            choices = ", ".join(map(str, typing.get_args(hint)))
            raise SeqlabError(f"{name}={value!r} is not a valid choice; choices: {choices}")
        return
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if any(_matches(value, a) for a in options):
            return
        for option in options:
            if typing.get_origin(option) is typing.Literal:
                _check_type(value, option, name)
        raise SeqlabError(f"{name}={value!r} has the wrong type; expected {_describe(hint)}")
    if not _matches(value, hint):
        raise SeqlabError(f"{name}={value!r} has the wrong type; expected {_describe(hint)}")


def _matches(value, hint) -> bool:
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint in (bool, str):
        return isinstance(value, hint)
    if typing.get_origin(hint) is typing.Literal:
        return value in typing.get_args(hint)
    return True  # containers and classes: checked by their own code


def _describe(hint) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def check_optimized_mode(cfg: DictConfig) -> None:
    """optimized_mode agrees with the way optimized_metric improves: checkpointing, early stopping, schedulers
    and sweeps all follow it."""
    mode = cfg.get("optimized_mode")
    if mode not in ("max", "min"):
        raise SeqlabError(f"optimized_mode={mode!r} is not a valid choice; choices: max, min")
    way = direction(str(cfg.optimized_metric))
    if way is not None and way != mode:
        better = "lower" if way == "min" else "higher"
        raise SeqlabError(f"optimized_metric={cfg.optimized_metric} is better {better}, but "
                          f"optimized_mode={mode}: "
                          f"set optimized_mode={way} too")


def check_context(cfg: DictConfig) -> None:
    """A language model from scratch whose context (model.net.n_positions, BERT's max_position_embeddings) is
    shorter than its training blocks would fail at the first batch with an index error; a pretrained one is
    checked against its own context."""
    net = cfg.model.get("net") or {}
    option = next((name for name in ("n_positions", "max_position_embeddings") if name in net), None)
    n_positions, block = net.get(option) if option else None, cfg.dataset.get("block_size")
    if n_positions is not None and block is not None and not net.get("pretrained") and n_positions < block:
        raise SeqlabError(f"model.net.{option}={n_positions} is shorter than dataset.block_size={block}: a "
                          f"block would not fit the model's context; set model.net.{option} to at least "
                          f"{block} (by default it follows dataset.block_size)")


def check_required(cfg: DictConfig) -> None:
    """An option left unset (???) that another option reads stops the run before it starts, naming both; an
    unset option nothing reads is no error (e.g. transfer.pretraining_run for the families that start from no
    run)."""
    try:
        OmegaConf.to_container(cfg, resolve=True)
    except InterpolationToMissingValueError as err:
        unset = ", ".join(_unset(OmegaConf.to_container(cfg, resolve=False)))
        raise SeqlabError(f"{err.full_key} needs {unset}, which is not set; give it on the command line "
                          "(key=value)") from None


def _unset(node: dict, prefix: str = "") -> list[str]:
    """The dotted keys of a config (a plain container, unresolved) whose value is ??? (to be given)."""
    keys = []
    for key, value in node.items():
        if value == "???":
            keys.append(f"{prefix}{key}")
        elif isinstance(value, dict):
            keys += _unset(value, f"{prefix}{key}.")
    return keys


def check_config(cfg: DictConfig) -> None:
    check_optimized_mode(cfg)
    check_context(cfg)
    check_arguments(cfg.dataset, "dataset")
    if "net" in cfg.model:
        datamodule = get_class(cfg.dataset._target_)
        check_arguments(cfg.model.net, "model.net", getattr(datamodule, "MODEL_ARGUMENTS", frozenset()))
    check_model_fits_dataset(cfg)
