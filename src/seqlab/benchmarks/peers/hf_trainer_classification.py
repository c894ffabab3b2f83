"""The finetune benchmark's peer: transformers' own Trainer fine-tuning an encoder for text classification.

    python -m seqlab.benchmarks.peers.hf_trainer_classification --json out.json \
        --pretrained sentence-transformers/all-MiniLM-L6-v2 --batch-size 32 --lr 5e-5 --warmup-steps 0.1 \
        --epochs 3 --max-length 64 --minutes 15 [dataset.<key>=<value> ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from hydra.utils import instantiate
from torchmetrics.functional.classification import multiclass_accuracy
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)
from transformers.utils import logging as transformers_logging

from seqlab.benchmarks.runner import THREADS, torch_threads
from seqlab.benchmarks.side_by_side import write_record
from seqlab.config.compose import compose_train_config
from seqlab.errors import SeqlabError
from seqlab.pretrained.transformers_models import resolve


class EpochExamples:
    """Per epoch: training examples and the seconds from the epoch's start to its last loss.

    Training examples per second are measured where seqlab's task measures its own: each epoch from its start
    to the moment its last training step's loss is computed (data loading, forward passes, backward passes and
    optimizer steps inside; evaluation and checkpoint saving outside), examples counted from each batch's
    labels; the epochs are pooled, all their examples over all their seconds."""

    def __init__(self):
        self.epochs: list[dict] = []

    def start_epoch(self) -> None:
        now = time.perf_counter()
        self.epochs.append({"start": now, "last": now, "examples": 0})

    def add(self, examples: int) -> None:
        epoch = self.epochs[-1]
        epoch["examples"] += examples
        epoch["last"] = time.perf_counter()

    def figures(self) -> dict:
        seconds = [e["last"] - e["start"] for e in self.epochs if e["examples"]]
        examples = sum(e["examples"] for e in self.epochs)
        return {"training_seconds": round(sum(seconds), 4), "training_examples": examples,
                "examples_per_sec": round(examples / sum(seconds), 2) if sum(seconds) > 0 else None,
                "epoch_seconds": [round(s, 2) for s in seconds]}


def read_rows(overrides: list[str], output_dir: Path) -> tuple[dict[str, list[tuple[str, int]]], list[str]]:
    """{split: [(text, label index)]} for train, val and test, and the labels, read by seqlab's datamodule
    from its dataset config with `overrides`.

    The rows are seqlab's own: its dataset config (`dataset=sst2` unless an override names another),
    composed as `pipelines/train.py` composes it, so train, dev and the test rows carved from train are the
    rows a seqlab run uses."""
    cfg = compose_train_config(["dataset=sst2", *overrides], Path.cwd(), output_dir)
    datamodule = instantiate(cfg.dataset)
    datamodule.prepare_data()
    datamodule.setup("fit")
    index = {label: i for i, label in enumerate(datamodule.labels)}
    rows = {split: [(text, index[label]) for text, label in datamodule.rows[split]]
            for split in ("train", "val", "test")}
    return rows, datamodule.labels


def fine_tune(args: argparse.Namespace) -> dict:
    """Tokenizer and model load from the same name as seqlab's
    (`seqlab.pretrained.transformers_models.resolve`: the packaged MiniLM, offline); sentences are cut to
    --max-length tokens and padded per batch. Dev accuracy is the best epoch's (the model Trainer keeps,
    load_best_model_at_end), and test accuracy is that model's, as seqlab tests its best checkpoint."""
    transformers_logging.disable_progress_bar()
    output_dir = Path(args.output_dir)
    rows, labels = read_rows(args.overrides, output_dir)
    folder = resolve(args.pretrained, "--pretrained")
    tokenizer = AutoTokenizer.from_pretrained(folder)

    def encoded(split: str) -> list[dict]:
        texts = [text for text, _ in rows[split]]
        ids = tokenizer(texts, truncation=True, max_length=args.max_length, return_token_type_ids=False)
        return [{"input_ids": i, "attention_mask": m, "labels": y}
                for i, m, (_, y) in zip(ids["input_ids"], ids["attention_mask"], rows[split], strict=True)]

    train, dev, test = encoded("train"), encoded("val"), encoded("test")
    torch.manual_seed(args.seed)
    model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=len(labels))
    clock = EpochExamples()

    class MeasuredTrainer(Trainer):
        """transformers' Trainer, its training unchanged; the clock is read when a training step's loss is
        computed, where seqlab's task reads its own."""

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            result = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            if model.training:
                clock.add(len(inputs["labels"]))
            return result

    class BudgetAndEpochs(TrainerCallback):
        """Starts each epoch's clock, and stops training after the step that ends past the time budget
        (counted from the start of training, as Lightning's max_time counts it)."""

        def __init__(self):
            self.started, self.stopped_by_budget, self.first_step_at = 0.0, False, None

        def on_train_begin(self, args, state, control, **kwargs):
            self.started = time.perf_counter()

        def on_epoch_begin(self, args, state, control, **kwargs):
            clock.start_epoch()

        def on_step_end(self, args, state, control, **kwargs):
            if self.first_step_at is None:
                self.first_step_at = time.time()
            if time.perf_counter() - self.started >= budget_seconds:
                control.should_training_stop = self.stopped_by_budget = True

    def accuracy(prediction) -> dict:
        logits, gold = torch.as_tensor(prediction.predictions), torch.as_tensor(prediction.label_ids)
        found = multiclass_accuracy(logits, gold, num_classes=len(labels), average="micro")
        return {"accuracy": float(found)}

    budget_seconds = args.minutes * 60
    training_args = TrainingArguments(
        output_dir=str(output_dir / "checkpoints"),
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=args.eval_batch_size,
        learning_rate=args.lr,
        weight_decay=args.weight_decay,
        adam_beta1=args.adam_betas[0],
        adam_beta2=args.adam_betas[1],
        adam_epsilon=args.adam_epsilon,
        max_grad_norm=args.max_grad_norm,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        lr_scheduler_type="linear",
        warmup_steps=args.warmup_steps,
        num_train_epochs=args.epochs,
        train_sampling_strategy="group_by_length",
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=1,
        load_best_model_at_end=True,
        metric_for_best_model="accuracy",
        greater_is_better=True,
        logging_strategy="epoch",
        report_to="none",
        disable_tqdm=True,
        seed=args.seed,
        use_cpu=args.use_cpu,
        bf16=args.precision == "bf16",
        fp16=args.precision == "fp16",
    )
    budget = BudgetAndEpochs()
    trainer = MeasuredTrainer(model=model, args=training_args, train_dataset=train, eval_dataset=dev,
                              data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=accuracy,
                              callbacks=[budget])
    start = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - start
    evaluations = [e["eval_accuracy"] for e in trainer.state.log_history if "eval_accuracy" in e]
    test = trainer.evaluate(test, metric_key_prefix="test")
    return {
        "tool": "transformers.Trainer",
        "pretrained": args.pretrained,
        "dev_acc": trainer.state.best_metric,
        "test_acc": test["test_accuracy"],
        "dev_acc_per_epoch": evaluations,
        **clock.figures(),
        "epochs_run": round(trainer.state.epoch or 0.0, 3),
        "steps": trainer.state.global_step,
        "stopped_by_budget": budget.stopped_by_budget,
        "first_step_at": budget.first_step_at,
        "wall_seconds": round(wall, 1),
        "rows": {split: len(split_rows) for split, split_rows in rows.items()},
        "settings": {key: value for key, value in vars(args).items() if key != "json"},
    }


def betas(text: str) -> tuple[float, float]:
    first, second = (float(x) for x in text.split(","))
    return first, second


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", required=True, help="where the figures are written")
    parser.add_argument("--pretrained", default="sentence-transformers/all-MiniLM-L6-v2",
                        help="hub name, save_pretrained folder or mlflow:<run_id>, as seqlab's "
                             "model.net.pretrained")
    parser.add_argument("--output-dir", default="outputs/bench/runs/hf-trainer",
                        help="the Trainer's checkpoints")
    parser.add_argument("--batch-size", type=int, default=32, help="training examples per batch")
    parser.add_argument("--eval-batch-size", type=int, default=256, help="dev and test examples per batch")
    parser.add_argument("--lr", type=float, default=5e-5, help="peak learning rate, after the warm-up")
    parser.add_argument("--weight-decay", type=float, default=0.01,
                        help="AdamW's (not on biases and LayerNorm)")
    parser.add_argument("--adam-betas", type=betas, default=(0.9, 0.999), help="AdamW's betas: b1,b2")
    parser.add_argument("--adam-epsilon", type=float, default=1e-8, help="AdamW's eps")
    parser.add_argument("--max-grad-norm", type=float, default=0.0,
                        help="clip the gradient norm to this; 0: no")
    parser.add_argument("--gradient-accumulation-steps", type=int, default=1,
                        help="batches whose gradients add up before an optimizer step")
    parser.add_argument("--warmup-steps", type=float, default=0.0,
                        help="linear warm-up: steps (>= 1) or a share of all steps (< 1); then linear decay "
                             "to 0")
    parser.add_argument("--epochs", type=int, default=3,
                        help="the schedule's length, and the most epochs run")
    parser.add_argument("--max-length", type=int, default=64, help="tokens kept per sentence")
    parser.add_argument("--minutes", type=float, default=15.0, help="training stops after this budget")
    parser.add_argument("--seed", type=int, default=42, help="model head initialisation and shuffling")
    parser.add_argument("--use-cpu", action="store_true",
                        help="train on the CPU even where a GPU is present")
    parser.add_argument("--precision", choices=["32", "bf16", "fp16"], default="32",
                        help="mixed precision or not")
    parser.add_argument("--threads", type=int, default=THREADS, help="torch intra-op threads")
    parser.add_argument("overrides", nargs="*",
                        help="seqlab dataset overrides: dataset.max_train_samples=1000")
    args = parser.parse_args(argv)
    if args.warmup_steps >= 1:
        args.warmup_steps = int(args.warmup_steps)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        with torch_threads(args.threads):
            figures = fine_tune(args)
    except SeqlabError as err:
        sys.exit(f"error: {err}")
    write_record(args.json, figures)
    print(json.dumps({k: figures[k] for k in ("dev_acc", "test_acc", "examples_per_sec", "epochs_run")}))


if __name__ == "__main__":
    main()
