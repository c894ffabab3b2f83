"""The classification benchmark's peer: the course's Keras text classifiers (Keras 3 on TensorFlow).

    python -m seqlab.benchmarks.peers.keras_classification --json out.json --batches batches.npz --minutes M
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from seqlab.benchmarks.side_by_side import skipped, write_record
from seqlab.errors import SeqlabError

RECURRENT = {"lstm": "LSTM", "gru": "GRU", "rnn": "SimpleRNN"}
# TensorFlow is optional: without it the record says the peer was skipped and why
INSTALL = "pip install 'seqlab[peers]' (tensorflow-cpu)"


def import_keras(threads: int):
    """Keras 3 on TensorFlow with `threads` threads, or the ImportError that says it is not installed."""
    # imported here: TensorFlow is optional, and its absence is a skipped peer, not a failure
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    import keras

    return keras


def build_model(keras, settings: dict):
    """The course's model for seqlab's net options (settings["net"]): Embedding(vocab, embed_dim) then
    LSTM(hidden) or GRU(hidden) on its last state (padding masked: mask_zero), or Conv1D(filters, width, relu)
    with a global max over time, then Dense(classes)."""
    net = settings["net"]
    target = net["_target_"].rsplit(".", 1)[-1]
    inputs = keras.Input(shape=(settings["width"],), dtype="int32")
    if target == "RecurrentClassifier":
        if net.get("pooling") != "last" or net.get("num_layers", 1) != 1:
            raise SeqlabError("the Keras peer's recurrent model reads one layer's last state: compare with "
                              "model.net.pooling=last model.net.num_layers=1")
        x = keras.layers.Embedding(settings["vocab_size"], net["embed_dim"], mask_zero=True)(inputs)
        layer = getattr(keras.layers, RECURRENT[net["cell"]])(net["hidden_size"])
        x = keras.layers.Bidirectional(layer)(x) if net.get("bidirectional") else layer(x)
    elif target == "CNNClassifier":
        x = keras.layers.Embedding(settings["vocab_size"], net["embed_dim"])(inputs)
        pooled = [keras.layers.GlobalMaxPooling1D()(
                      keras.layers.Conv1D(net["num_filters"], k, activation="relu")(x))
                  for k in net["kernel_sizes"]]
        x = pooled[0] if len(pooled) == 1 else keras.layers.Concatenate()(pooled)
    else:
        raise SeqlabError(f"the Keras peer builds the course's LSTM, GRU and CNN classifiers, not {target}")
    if net.get("dropout"):
        x = keras.layers.Dropout(net["dropout"])(x)
    return keras.Model(inputs, keras.layers.Dense(settings["num_classes"])(x))


def optimizer(keras, settings: dict):
    """seqlab's optimizer options in Keras: AdamW or Adam with seqlab's learning rate, weight decay, betas
    and eps, torch's defaults where seqlab sets none."""
    options = settings["optimizer"]
    name = options["_target_"].rsplit(".", 1)[-1]
    if name not in ("AdamW", "Adam") or settings.get("scheduler"):
        raise SeqlabError(f"the Keras peer trains with AdamW or Adam at a constant rate, not {name} with "
                          f"{settings.get('scheduler')}; compare with model.scheduler=null")
    beta_1, beta_2 = options.get("betas") or (0.9, 0.999)
    common = {"learning_rate": options["lr"], "beta_1": beta_1, "beta_2": beta_2,
              "epsilon": options.get("eps", 1e-8)}
    if name == "AdamW":
        return keras.optimizers.AdamW(weight_decay=options.get("weight_decay", 0.01), **common)
    return keras.optimizers.Adam(**common)


def train(keras, data, seconds: float) -> dict:
    """Trains on seqlab's batches (peers/batch_export.py: the same rows, vocabulary and split, each epoch's
    batches in the order seqlab trains on them), each row padded to the length they were cut at (50), as the
    course's pad_sequences does; cross-entropy on logits. An epoch is timed as seqlab's tasks time theirs,
    from its start to its last training batch; dev accuracy is measured after each epoch, and test accuracy of
    the best epoch's weights (restored by EarlyStopping, which never stops training here)."""
    settings = json.loads(str(data["settings"]))
    keras.utils.set_random_seed(settings["seed"])
    model = build_model(keras, settings)
    if settings["label_smoothing"]:
        raise SeqlabError("the Keras peer's sparse cross-entropy has no label smoothing; compare with "
                          "model.label_smoothing=0")
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=optimizer(keras, settings), loss=loss, metrics=["accuracy"])
    ids, labels, epochs = data["ids"], data["labels"], settings["epochs"]
    lengths = (ids != 0).sum(axis=1)
    orders = [np.split(data[f"order_{e}"], np.cumsum(data[f"sizes_{e}"])[:-1]) for e in range(epochs)]

    def batches():
        for order in orders:
            for rows in order:
                yield ids[rows], labels[rows]

    class Clock(keras.callbacks.Callback):
        """Each epoch's seconds from its start to its last training batch, with its batches, examples and real
        tokens; the time at the end of the first optimizer step; a stop once the budget is spent."""

        def __init__(self):
            super().__init__()
            self.epochs, self.first_step_at, self.stopped_by_budget = [], None, False
            self.started = self.epoch_start = 0.0

        def on_train_begin(self, logs=None):
            self.started = time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_start = time.perf_counter()
            self.epochs.append({"seconds": 0.0, "batches": 0, "examples": 0, "tokens": 0})

        def on_train_batch_end(self, batch, logs=None):
            now, current = time.perf_counter(), self.epochs[-1]
            rows = orders[len(self.epochs) - 1][current["batches"]]
            current.update(seconds=round(now - self.epoch_start, 4), batches=current["batches"] + 1,
                           examples=current["examples"] + len(rows),
                           tokens=current["tokens"] + int(lengths[rows].sum()))
            if self.first_step_at is None:
                self.first_step_at = time.time()
            if now - self.started >= seconds:
                self.model.stop_training = self.stopped_by_budget = True

    clock = Clock()
    best = keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=epochs + 1,
                                         restore_best_weights=True)
    start = time.perf_counter()
    history = model.fit(batches(), steps_per_epoch=settings["batches_per_epoch"], epochs=epochs,
                        validation_data=(data["val_ids"], data["val_labels"]),
                        validation_batch_size=settings["eval_batch_size"], shuffle=False,
                        callbacks=[clock, best], verbose=0)
    wall = time.perf_counter() - start
    dev = [round(float(v), 4) for v in history.history.get("val_accuracy", [])]
    _, test = model.evaluate(data["test_ids"], data["test_labels"], batch_size=settings["eval_batch_size"],
                             verbose=0)
    return {
        "tool": f"Keras {keras.__version__} ({keras.backend.backend()})",
        "epochs": clock.epochs,
        "quality": {"best_val_acc": max(dev) if dev else None, "test_acc": round(float(test), 4)},
        "val_acc_per_epoch": dev,
        "first_step_at": clock.first_step_at,
        "stopped_by_budget": clock.stopped_by_budget,
        "wall_seconds": round(wall, 2),
        "parameters": model.count_params(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", required=True, help="where the figures are written")
    parser.add_argument("--batches", required=True, help="seqlab's batches (peers/batch_export.py)")
    parser.add_argument("--minutes", type=float, required=True, help="training stops after this budget")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow's intra- and inter-op threads")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        keras = import_keras(args.threads)
    except ImportError as err:
        skipped(args.json, f"TensorFlow cannot be imported ({err}); {INSTALL}")
        return
    try:
        with np.load(args.batches) as data:
            record = train(keras, {key: data[key] for key in data.files}, args.minutes * 60)
    except SeqlabError as err:
        sys.exit(f"error: {err}")
    write_record(args.json, record)


if __name__ == "__main__":
    main()
