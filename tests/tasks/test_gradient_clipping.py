"""trainer.gradient_clip_val clips every task's gradients with the fused AdamW the model configs use, under
32-true and under bf16-mixed (which Lightning refuses for fused optimizers unless the task clips itself)."""

from __future__ import annotations

from functools import partial

import lightning as L
import pytest
import torch
from torch import nn

from seqlab.tasks.base import SeqlabTask


class NormRecordingAdamW(torch.optim.AdamW):
    """Fused AdamW that notes the total gradient norm it is handed at each step."""

    def __init__(self, params, norms: list[float], **kwargs):
        super().__init__(params, fused=True, **kwargs)
        self.norms = norms

    def step(self, closure=None):
        loss = closure() if closure is not None else None
        grads = [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]
        self.norms.append(float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))))
        super().step()
        return loss


class Regression(SeqlabTask):
    def training_step(self, batch, batch_idx):
        x, y = batch
        return nn.functional.mse_loss(self.net(x), y) * 1000.0  # gradients far above the clip value


@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed"])
def test_gradients_reach_the_optimizer_clipped(precision, tmp_path):
    norms: list[float] = []
    task = Regression(nn.Linear(8, 1), partial(NormRecordingAdamW, norms=norms, lr=1e-3))
    data = torch.utils.data.TensorDataset(torch.randn(32, 8), torch.randn(32, 1))
    trainer = L.Trainer(accelerator="cpu", precision=precision, gradient_clip_val=0.01, max_steps=3, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, default_root_dir=tmp_path)
    trainer.fit(task, torch.utils.data.DataLoader(data, batch_size=8))
    assert len(norms) == 3
    assert all(0.0 < norm <= 0.01 * (1 + 1e-3) for norm in norms), norms
