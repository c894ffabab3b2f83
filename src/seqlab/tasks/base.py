"""What every Lightning task shares (SeqlabTask), and the loss helpers the tasks use."""

from __future__ import annotations

import inspect
import math

import lightning as L
import torch
from lightning.pytorch.plugins.precision import MixedPrecision, Precision
from lightning.pytorch.utilities import GradClipAlgorithmType
from torch import nn
from torchmetrics import MeanMetric

from seqlab.errors import SeqlabError
from seqlab.tasks.throughput import EpochThroughput

THROUGHPUT_KEY = "epoch_throughput"


def checked_label_smoothing(value: float) -> float:
    """model.label_smoothing of the training loss, in [0, 1)."""
    if not 0.0 <= value < 1.0:
        raise SeqlabError(f"model.label_smoothing={value} must lie in [0, 1)")
    return value


def perplexity(loss: float) -> float:
    """exp of a token-mean cross-entropy; torchmetrics' Perplexity takes a second softmax over the vocabulary
    (GBs a batch for GPT-2's) whose underflow on a confident miss makes it inf. Capped where exp overflows."""
    return math.exp(min(loss, 700.0))


def weight_decay_groups(module: nn.Module) -> list[dict]:
    """The trainable parameters in two optimizer groups: matrices weight-decayed, biases, norms' gains and
    other 1-d parameters not, as GPT-2 and BERT are trained."""
    trainable = [p for p in module.parameters() if p.requires_grad]
    return [{"params": [p for p in trainable if p.dim() >= 2]},
            {"params": [p for p in trainable if p.dim() < 2], "weight_decay": 0.0}]


class SeqlabTask(L.LightningModule):
    """A LightningModule around a net, with its optimizer and scheduler factories; the net's config goes
    into checkpoints (to rebuild the net from them). The epoch's training figures are logged once an epoch:
    train/loss (the mean over the epoch's examples or tokens), train/epoch_sec, train/tokens_per_sec (and
    train/examples_per_sec where the task counts examples); checkpoints carry them, so that an epoch resumed
    mid-way still reports all its batches."""

    task_name = ""

    def __init__(self, net: nn.Module, optimizer, scheduler=None, monitor: str = "val/loss"):
        super().__init__()
        self.net = net
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.monitor = monitor
        self.net_config: dict | None = None  # the net's config, saved in checkpoints to rebuild it
        self.train_loss = MeanMetric()
        # in checkpoints: an epoch resumed mid-way still averages all its batches
        self.train_loss.persistent(True)
        self.throughput = EpochThroughput()
        self.resumed_throughput: dict | None = None  # the epoch's figures so far, from the checkpoint resumed

    def record_training_step(self, loss: torch.Tensor, weight: int, tokens: int,
                             examples: int = 0) -> torch.Tensor:
        """Adds a step's mean loss (over `weight` examples or tokens), its real tokens and its examples
        (0: not counted) to the epoch's figures."""
        self.train_loss.update(loss.detach(), weight=weight)
        self.throughput.add(tokens, examples)
        return loss

    def on_train_epoch_start(self) -> None:
        self.throughput.reset()

    def on_train_start(self) -> None:
        # Lightning does not call on_train_epoch_start again for an epoch it resumes mid-way
        if self.resumed_throughput is not None:
            self.throughput.restore(self.resumed_throughput)
            self.resumed_throughput = None

    def on_train_epoch_end(self) -> None:
        # logged once an epoch: self.log on every step costs more than a small model's whole step
        self.log_dict({"train/loss": self.train_loss.compute(), **self.throughput.metrics()})
        self.train_loss.reset()

    def configure_optimizers(self):
        return self.with_scheduler(self.optimizer_factory(params=self.parameters()))

    def with_scheduler(self, optimizer):
        """The optimizer and model.scheduler: one that takes num_training_steps (transformers' warm-up
        schedules) steps every batch over the whole run, any other (ReduceLROnPlateau, StepLR) every epoch on
        the monitor."""
        if self.scheduler_factory is None:
            return optimizer
        if "num_training_steps" not in inspect.signature(self.scheduler_factory).parameters:
            scheduler = self.scheduler_factory(optimizer=optimizer)
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "monitor": self.monitor}}
        steps = self.trainer.estimated_stepping_batches
        if not math.isfinite(steps):
            raise SeqlabError("the learning-rate schedule needs a training length: set trainer.max_epochs or "
                              "trainer.max_steps, or model.scheduler=null")
        scheduler = self.scheduler_factory(optimizer=optimizer, num_training_steps=int(steps))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def configure_gradient_clipping(self, optimizer, gradient_clip_val=None,
                                    gradient_clip_algorithm=None) -> None:
        """trainer.gradient_clip_val with a fused optimizer under bf16-mixed: Lightning refuses to clip for a
        fused optimizer under any mixed precision, as a float16 grad scaler would leave its gradients scaled;
        bf16 has no scaler, so its gradients are clipped as under 32-true."""
        plugin = self.trainer.precision_plugin
        if isinstance(plugin, MixedPrecision) and plugin.scaler is None:
            algorithm = GradClipAlgorithmType(gradient_clip_algorithm or GradClipAlgorithmType.NORM)
            Precision.clip_gradients(plugin, optimizer, gradient_clip_val or 0.0, algorithm)
        else:
            self.clip_gradients(optimizer, gradient_clip_val, gradient_clip_algorithm)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["net_config"] = self.net_config
        checkpoint[THROUGHPUT_KEY] = self.throughput.state()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.resumed_throughput = checkpoint.get(THROUGHPUT_KEY)
