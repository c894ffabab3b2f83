"""The floor: a plain PyTorch training loop (no Lightning, no tracking) over seqlab's own datamodule and net.

    python -m seqlab.benchmarks.peers.torch_loop --json out.json --minutes M OVERRIDE ...
"""

from __future__ import annotations

import argparse
import copy
import inspect
import itertools
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from hydra.errors import HydraException
from omegaconf import DictConfig

from seqlab.benchmarks.runner import THREADS, torch_threads
from seqlab.benchmarks.side_by_side import write_record
from seqlab.config.compose import compose_train_config
from seqlab.config.instantiate import instantiate
from seqlab.errors import SeqlabError
from seqlab.tasks.throughput import EpochThroughput

# the floor's start-up and memory are measured: seqlab.tasks.base (Lightning) is imported for a language model
# only, and torchmetrics at the first validation, after the first optimizer step

IGNORE = -100  # a language model's padded labels (seqlab.data.token_blocks.IGNORE)
KINDS = ("classification", "language_model", "translation")


@dataclass
class Step:
    """A training batch's mean loss, what it is a mean over (examples or tokens), and its real tokens and
    examples."""

    loss: torch.Tensor
    weight: int
    tokens: int
    examples: int


class Floor:
    """seqlab's datamodule, net, optimizer and schedule from a composed train config (the same as seqlab's
    side of a case), and the plain loop over them.

    Same seed, data, split, vocabulary, batches in the same order (the datamodule's train loader, its sampler
    set to each epoch as Lightning sets it), the same model class and initial weights, optimizer, per-step
    learning-rate schedule, gradient clipping, epochs, limit_train_batches, max_steps and time budget; what
    seqlab adds around it (Lightning's loop, logging, metrics objects, checkpoints, samples, MLflow) is left
    out, so seqlab's time over this loop's is what that costs."""

    def __init__(self, cfg: DictConfig):
        check_supported(cfg)
        self.cfg = cfg
        # what seqlab's train seeds (Lightning's seed_everything) before building anything
        random.seed(cfg.seed)
        torch.manual_seed(cfg.seed)
        self.datamodule = instantiate(cfg.dataset)
        self.datamodule.prepare_data()
        self.datamodule.setup("fit")
        self.kind = self.datamodule.task_name
        if self.kind not in KINDS:
            raise SeqlabError(f"the torch-loop floor trains {', '.join(KINDS)} models, not {self.kind}")
        self.net = instantiate(cfg.model.net, **self.datamodule.model_kwargs())
        self.device = device_of(cfg)
        self.net.to(self.device)
        self.task = self.datamodule.task_kwargs()
        self.label_smoothing = float(cfg.model.get("label_smoothing") or 0.0)
        factory = instantiate(cfg.model.optimizer)
        self.optimizer = factory(params=self.parameters(cfg.model.optimizer.get("lr")))

    def parameters(self, lr: float | None):
        """What seqlab's task hands its optimizer: a pretrained encoder's per-group rates, a language model's
        decayed and undecayed groups, else every parameter."""
        if self.kind == "language_model":
            from seqlab.tasks.base import weight_decay_groups

            return weight_decay_groups(self.net)
        groups = getattr(self.net, "parameter_groups", None)
        return groups(lr) if groups is not None else self.net.parameters()

    # -- one batch -------------------------------------------------------------------------------------------
    def on_device(self, batch: dict) -> dict:
        return {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}

    def step(self, batch: dict, label_smoothing: float = 0.0) -> Step:
        if self.kind == "classification":
            logits = self.net(batch["input_ids"], batch["attention_mask"])
            loss = F.cross_entropy(logits, batch["labels"], label_smoothing=label_smoothing)
            size = len(batch["labels"])
            return Step(loss, size, int(batch["attention_mask"].sum()), size)
        if self.kind == "language_model":
            logits, labels = self.net(batch["input_ids"]), batch["labels"]
            loss = F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), ignore_index=IGNORE)
            tokens = int((labels != IGNORE).sum())
            return Step(loss, tokens, tokens, 0)
        tgt, pad = batch["tgt_ids"], self.task["pad_id"]
        logits, _ = self.net(batch["src_ids"], batch["src_mask"], tgt[:, :-1])
        labels = tgt[:, 1:]
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=pad,
                               label_smoothing=label_smoothing)
        tokens = int((labels != pad).sum())
        return Step(loss, tokens, tokens, 0)

    # -- evaluation ------------------------------------------------------------------------------------------
    @property
    def metric(self) -> tuple[str, bool]:
        """The figure each validation gives, and whether higher is better."""
        return ("acc", True) if self.kind == "classification" else ("loss", False)

    @torch.no_grad()
    def evaluate(self, loader, limit: int) -> float:
        """Accuracy of a classifier; token-mean cross-entropy (no label smoothing) of the others."""
        from torchmetrics.classification import MulticlassAccuracy

        self.net.eval()
        accuracy = MulticlassAccuracy(self.task.get("num_classes", 2), average="micro").to(self.device)
        loss_sum = weight = 0.0
        for i, batch in enumerate(loader):
            if i >= limit:
                break
            batch = self.on_device(batch)
            if self.kind == "classification":
                accuracy.update(self.net(batch["input_ids"], batch["attention_mask"]), batch["labels"])
            else:
                step = self.step(batch)
                loss_sum += float(step.loss) * step.weight
                weight += step.weight
        self.net.train()
        return float(accuracy.compute()) if self.kind == "classification" else loss_sum / max(weight, 1)

    # -- training --------------------------------------------------------------------------------------------
    def train(self, seconds: float) -> dict:
        """Trains for the config's epochs, limit_train_batches and max_steps, or until `seconds` have passed;
        returns the record side_by_side reads.

        An epoch is timed as seqlab's tasks time theirs: from its start to its last training step's loss
        (seqlab.tasks.throughput.EpochThroughput). Each epoch ends with a validation pass (accuracy for a
        classifier, token-mean cross-entropy for a language model or translator); the best epoch's weights are
        tested."""
        trainer = self.cfg.trainer
        loader = self.datamodule.train_dataloader()
        per_epoch = limited(len(loader), trainer.get("limit_train_batches"))
        val_loader = self.datamodule.val_dataloader()
        val_batches = limited(len(val_loader), trainer.get("limit_val_batches"))
        max_steps = trainer.get("max_steps", -1)
        scheduler = self.scheduler(training_steps(per_epoch, trainer.max_epochs, max_steps))
        clip = trainer.get("gradient_clip_val")
        name, higher = self.metric
        epochs, train_losses, validations = [], [], []
        best_value, best_state, first_step_at, first_loss = None, None, None, None
        steps, stopped_by_budget = 0, False
        self.net.train()
        started = time.perf_counter()
        for epoch in range(trainer.max_epochs):
            clock = EpochThroughput()
            loss_sum = loss_weight = batches = 0
            for batch in self.training_batches(loader, epoch, per_epoch):
                step = self.step(self.on_device(batch), self.label_smoothing)
                # where seqlab's task reads its clock: the loss computed
                clock.add(step.tokens, step.examples)
                self.optimizer.zero_grad()
                step.loss.backward()
                if clip:
                    torch.nn.utils.clip_grad_norm_(self.net.parameters(), clip)
                self.optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                steps, batches = steps + 1, batches + 1
                loss_sum += float(step.loss.detach()) * step.weight
                loss_weight += step.weight
                if first_step_at is None:
                    first_step_at, first_loss = time.time(), float(step.loss.detach())
                stopped_by_budget = time.perf_counter() - started >= seconds
                if stopped_by_budget or steps == max_steps:
                    break
            state = clock.state()
            epochs.append({"seconds": round(state["seconds"], 4), "batches": batches,
                           "examples": state["examples"], "tokens": state["tokens"]})
            train_losses.append(round(loss_sum / max(loss_weight, 1), 5))
            value = self.evaluate(val_loader, val_batches)
            validations.append(round(value, 5))
            if best_value is None or (value > best_value if higher else value < best_value):
                best_value, best_state = value, copy.deepcopy(self.net.state_dict())
            if stopped_by_budget or steps == max_steps:
                break
        wall = time.perf_counter() - started
        self.net.load_state_dict(best_state)
        test_loader = self.datamodule.test_dataloader()
        test = self.evaluate(test_loader, limited(len(test_loader), trainer.get("limit_test_batches")))
        return {
            "tool": "plain PyTorch loop",
            "epochs": epochs,
            "quality": {f"best_val_{name}": round(best_value, 4), f"test_{name}": round(test, 4)},
            f"val_{name}_per_epoch": validations,
            "train_loss_per_epoch": train_losses,
            "first_loss": first_loss,
            "first_step_at": first_step_at,
            "steps": steps,
            "stopped_by_budget": stopped_by_budget,
            "wall_seconds": round(wall, 2),
        }

    @staticmethod
    def training_batches(loader, epoch: int, count: int):
        """The epoch's first `count` training batches, in the order Lightning gives them."""
        set_epoch(loader, epoch)
        return itertools.islice(loader, count)

    def scheduler(self, total_steps: int):
        """model.scheduler stepped every batch over `total_steps`, as seqlab's task steps a schedule that
        takes num_training_steps; the floor has no monitored metric to step any other kind on."""
        config = self.cfg.model.get("scheduler")
        if config is None:
            return None
        factory = instantiate(config)
        if "num_training_steps" not in inspect.signature(factory).parameters:
            raise SeqlabError(f"model.scheduler {config.get('_target_')} steps on a validation metric, which "
                              "the torch-loop floor does not compute; compare with model.scheduler=null")
        return factory(optimizer=self.optimizer, num_training_steps=total_steps)


# -- Lightning's rules, kept ---------------------------------------------------------------------------------
def limited(batches: int, limit) -> int:
    """Batches an epoch takes under trainer.limit_*_batches: a whole number (at most all), a share (int(share
    x all): 1.0 is all), or null (all)."""
    if limit is None:
        return batches
    if isinstance(limit, int):
        return min(limit, batches)
    return int(batches * float(limit))


def training_steps(per_epoch: int, max_epochs: int, max_steps: int) -> int:
    """The optimizer steps of the whole run, as Lightning's estimated_stepping_batches counts them (no
    gradient accumulation)."""
    steps = per_epoch * max(max_epochs, 1)
    return min(steps, max_steps) if max_steps not in (None, -1) else steps


def set_epoch(loader, epoch: int) -> None:
    """The epoch's shuffle, as Lightning sets it on a loader's sampler and batch sampler at each epoch
    start."""
    for sampler in (loader.sampler, loader.batch_sampler):
        if callable(getattr(sampler, "set_epoch", None)):
            sampler.set_epoch(epoch)


def device_of(cfg: DictConfig) -> torch.device:
    accelerator = str(cfg.trainer.get("accelerator", "auto"))
    if accelerator in ("gpu", "cuda") or accelerator == "auto" and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def check_supported(cfg: DictConfig) -> None:
    """What the loop does not do (and seqlab's side would), named with the option to set."""
    if str(cfg.trainer.get("precision", "32-true")) not in ("32-true", "32"):
        raise SeqlabError(f"trainer.precision={cfg.trainer.precision}: the torch-loop floor trains in "
                          "32-bit; compare with trainer.precision=32-true")
    if (cfg.trainer.get("accumulate_grad_batches") or 1) != 1:
        raise SeqlabError("trainer.accumulate_grad_batches: the torch-loop floor steps every batch; compare "
                          "with trainer.accumulate_grad_batches=1")
    if (cfg.trainer.get("devices") or 1) not in (1, "1", "auto"):
        raise SeqlabError(f"trainer.devices={cfg.trainer.devices}: the torch-loop floor trains on one device")


def compose(overrides: list[str], run_dir: Path) -> DictConfig:
    try:
        return compose_train_config(overrides, Path.cwd(), run_dir)
    except HydraException as err:
        raise SeqlabError(f"cannot compose {' '.join(overrides)}: {str(err).splitlines()[0]}") from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", required=True, help="where the figures are written")
    parser.add_argument("--minutes", type=float, required=True, help="training stops after this budget")
    parser.add_argument("--threads", type=int, default=THREADS, help="torch intra-op threads")
    parser.add_argument("overrides", nargs="*",
                        help="the case's preset and overrides, as seqlab's side takes them")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        with torch_threads(args.threads):
            cfg = compose(args.overrides, Path(args.json).parent / "run")
            record = Floor(cfg).train(args.minutes * 60)
    except SeqlabError as err:
        sys.exit(f"error: {err}")
    write_record(args.json, record)


if __name__ == "__main__":
    main()
