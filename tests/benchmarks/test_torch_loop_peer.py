"""The floor of the side-by-side benchmarks, a plain PyTorch loop over seqlab's own datamodule and net, trains the
same model on the same batches as seqlab's Lightning run of the same config: the first batch is the one Lightning
trained on, and after the same steps the epoch's training loss and the weights are seqlab's (a course-sized LSTM on
tiny SST-2, a tiny GPT-2 under its warm-up schedule on a tiny play)."""

from __future__ import annotations

import pytest
import torch
from lightning.pytorch.callbacks import Callback

from seqlab.benchmarks.classification import COMMON, COURSE_SIZED
from seqlab.benchmarks.peers.torch_loop import Floor, limited, training_steps
from seqlab.errors import SeqlabError

from conftest import run_under, write_sst2_layout
from lm_corpus import write_tinyshakespeare_layout

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class FirstBatch(Callback):
    """The first training batch Lightning hands the task (a class attribute, read by the test)."""

    batch: dict | None = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if FirstBatch.batch is None:
            FirstBatch.batch = {k: v.clone() for k, v in batch.items()}


SST2_LSTM = [*COURSE_SIZED["lstm64"], *COMMON, "debug=smoke", "trainer.limit_train_batches=3", "logger=mlflow",
             "callbacks.periodic_checkpoint=null"]
PLAY_GPT2 = ["experiment=gpt2_scratch", "debug=smoke", "dataset.block_size=32", "dataset.batch_size=4",
             "model.net.n_layer=1", "model.net.n_head=2", "model.net.n_embd=32", "model.scheduler.num_warmup_steps=2",
             "trainer.limit_train_batches=3", "model.sample_max_new_tokens=4", "callbacks.periodic_checkpoint=null"]


@pytest.mark.parametrize("overrides, metric", [(SST2_LSTM, "acc"), (PLAY_GPT2, "loss")], ids=["lstm64", "gpt2"])
def test_the_floor_trains_seqlabs_model_on_seqlabs_batches(compose_cfg, tmp_path, tracking_uri, overrides, metric):
    from seqlab.commands.train import train

    if metric == "loss":
        write_tinyshakespeare_layout(tmp_path / "data" / "tinyshakespeare")
    else:
        write_sst2_layout(tmp_path / "data" / "sst2")
    FirstBatch.batch = None
    seqlab_cfg = compose_cfg([*overrides, f"+callbacks.first_batch._target_={__name__}.FirstBatch"])
    train(seqlab_cfg)
    run = run_under(tracking_uri, tmp_path)
    checkpoint = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    seqlab_weights = {k.removeprefix("net."): v for k, v in checkpoint["state_dict"].items() if k.startswith("net.")}

    floor = Floor(compose_cfg(overrides))
    first = next(iter(floor.training_batches(floor.datamodule.train_dataloader(), 0, 1)))
    assert first.keys() == FirstBatch.batch.keys()
    assert all(torch.equal(first[k], FirstBatch.batch[k]) for k in first)
    record = floor.train(seconds=600)

    assert [e["batches"] for e in record["epochs"]] == [3]
    assert record["train_loss_per_epoch"][0] == pytest.approx(run.data.metrics["train/loss"], rel=1e-4)
    floor_weights = floor.net.state_dict()
    assert floor_weights.keys() == seqlab_weights.keys()
    for name, weight in seqlab_weights.items():
        torch.testing.assert_close(floor_weights[name], weight, rtol=1e-4, atol=1e-5, msg=name)
    assert record["first_step_at"] is not None
    assert record["quality"].keys() == {f"best_val_{metric}", f"test_{metric}"}


def test_lightnings_rules_for_batches_and_steps():
    assert [limited(10, x) for x in (None, 3, 30, 0.5, 1.0, 1)] == [10, 3, 10, 5, 10, 1]
    assert training_steps(per_epoch=7, max_epochs=3, max_steps=-1) == 21
    assert training_steps(per_epoch=7, max_epochs=3, max_steps=5) == 5


@pytest.mark.parametrize("override, option", [("trainer.precision=bf16-mixed", "trainer.precision"),
                                              ("trainer.accumulate_grad_batches=2", "accumulate_grad_batches")])
def test_what_the_floor_does_not_do_is_named(compose_cfg, sst2_dir, override, option):
    with pytest.raises(SeqlabError, match=option):
        Floor(compose_cfg(["debug=smoke", override]))


def test_a_schedule_on_a_validation_metric_is_refused(compose_cfg, sst2_dir):
    floor = Floor(compose_cfg(["debug=smoke", "+model.scheduler._target_=torch.optim.lr_scheduler.ReduceLROnPlateau",
                               "+model.scheduler._partial_=true"]))
    with pytest.raises(SeqlabError, match="model.scheduler=null"):
        floor.train(seconds=60)
