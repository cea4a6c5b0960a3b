"""Training: a typed config and a dataset in, a trained model out (`TrainedModel`).

`train_version` is the usual caller: it trains, then asks `fontpipe.registry.versions` to save the
result as a new version directory; training itself writes nothing but its resumable backups.
The mlp is fitted by Keras (`fit`), the channel-table model by Newton's method (`table_fit`).
With TF_CONFIG set, the same call trains one model over several worker processes
(`multiworker`), and `train_version` saves the result on the chief alone.
"""

from __future__ import annotations

# TensorFlow and Keras load on first use: they cost seconds at start-up (python -X importtime), and a look-up never needs them.
import dataclasses
import math
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fontpipe.data.datasets import Dataset, open_dataset, read_split_arrays
from fontpipe.data.generation import rule_rows
from fontpipe.errors import FontpipeError
from fontpipe.model import build_model
from fontpipe.quiet import import_tensorflow
from fontpipe.records import TrainedModel, TrainingRecord
from fontpipe.registry.versions import (
    ModelVersion,
    checkpoint_dir,
    save_version,
    weights_sha256,
)
from fontpipe.schema import SPLITS, Split
from fontpipe.training.colour_rows import ColourRows, gather_colour_rows
from fontpipe.training.config import TrainConfig, compile_model
from fontpipe.training.devices import DevicePlan, multi_worker_requested, plan_devices
from fontpipe.training.fit import fit_model, training_record, weights_not_finite
from fontpipe.training.inputs import Shard, make_dataset, shard_split, weighted_batches
from fontpipe.training.multiworker import (
    WorkerFinished,
    check_multi_worker_config,
    save_and_discard,
    train_multi_worker,
)
from fontpipe.training.table_fit import FitStep, TableFit, fit_channel_tables

# Rows per batch when the table fit reads a split through tf.data: it only counts them.
GATHER_BATCH = 65_536
# The model card's reason for the family (bench/learning_curve.py has the figures).
TABLES_CHOSEN_BECAUSE = (
    "every rule thresholds a sum of one rising function per channel, which this family holds "
    "exactly; penalised for smoothness, it makes fewer errors on unseen colours from a 1 % "
    "sample than the mlp, and never a far one"
)

if TYPE_CHECKING:
    import keras


def train_model(
    dataset: Dataset | Path | str,
    config: TrainConfig,
    *,
    backup_dir: Path | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    on_device_plan: Callable[[DevicePlan], None] | None = None,
) -> TrainedModel:
    """Train on the train split, validate every epoch and test once.

    With `backup_dir`, an interrupted run leaves its backup there and the same call resumes from
    it; the backup is removed once training finishes. Multi-worker training (TF_CONFIG) keeps no
    backup: an interrupted run starts over.
    """

    tf = import_tensorflow()
    import keras

    if not isinstance(dataset, Dataset):
        dataset = open_dataset(dataset)
    for split in SPLITS:
        # A `cube` dataset is an exact fit of the whole domain: it has no val or test colours.
        if dataset.split_rows(split) == 0 and not (split != "train" and dataset.sampling == "cube"):
            raise FontpipeError(f"{dataset.path}: the {split} split is empty; generate more rows")
    if multi_worker_requested():
        # Checked before the strategy is made, which waits for every worker to join.
        check_multi_worker_config(config)
    plan = plan_devices(config.device)
    shard: Shard | None = None
    if plan.multi_worker:
        shard = shard_split(dataset, "train", plan.worker, plan.workers)
        plan = dataclasses.replace(
            plan,
            description=f"{plan.description}, {shard.summary()}",
            note=f"{plan.note}; it {shard.describe()}",
        )
    if on_device_plan is not None:
        on_device_plan(plan)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(config.seed)

    if config.model.architecture == "channel-tables":
        if config.prior is not None:
            raise FontpipeError(
                "--prior mixes a rule into mlp training; a channel-table model adds one function "
                "per channel and cannot learn a region's departure from a rule"
            )
        return _train_channel_tables(dataset, config, plan, callbacks)
    if shard is not None:
        return train_multi_worker(dataset, config, plan, shard, callbacks)

    if config.prior is not None:
        train_data, train_rows = _train_with_prior(dataset, config)
    else:
        train_data = make_dataset(dataset, "train", config.inputs, seed=config.seed, training=True)
        train_rows = dataset.split_rows("train")
    val_data = make_dataset(dataset, "val", config.inputs, seed=config.seed, training=False)
    test_data = make_dataset(dataset, "test", config.inputs, seed=config.seed, training=False)
    steps_per_epoch = max(train_rows // config.inputs.batch_size, 1)

    with plan.strategy.scope():
        model = build_model(config.model, seed=config.seed)
        compile_model(model, config, steps_per_epoch * config.epochs, plan.jit_compile)

    run = fit_model(model, train_data, val_data, config, backup_dir=backup_dir, callbacks=callbacks)
    test_metrics = model.evaluate(test_data, verbose=0, return_dict=True)
    if backup_dir is not None:
        shutil.rmtree(backup_dir, ignore_errors=True)

    record = training_record(
        dataset, config, plan, run.history, run.seconds, test_metrics, kept=run.kept_epoch
    )
    return TrainedModel(model=model, record=record, history=run.history)


def _train_with_prior(dataset: Dataset, config: TrainConfig) -> tuple[Any, int]:
    """The dataset's train split (weight 1 a row) with `prior_rows` uniform colours labelled by
    the prior rule, weighted so that they carry `prior_weight` of the total."""

    assert config.prior is not None
    rgb, label = read_split_arrays(dataset, "train")
    prior = rule_rows(config.prior_rows, config.prior, "uniform-int", config.seed)
    each = config.prior_weight / (1.0 - config.prior_weight) * len(label) / config.prior_rows
    weight = np.concatenate(
        [np.ones(len(label), np.float32), np.full(config.prior_rows, each, np.float32)]
    )
    # Weights scaled to mean 1, so the loss (and Adam's step size) keeps its usual scale.
    weight /= weight.mean()
    mixed_rgb = np.concatenate([rgb, prior.rgb.astype(np.float32)])
    mixed_label = np.concatenate([label, prior.label.astype(np.int32)])
    batches = weighted_batches(
        mixed_rgb, mixed_label, weight, config.inputs.batch_size, seed=config.seed
    )
    return batches, len(mixed_label)


def _train_channel_tables(
    dataset: Dataset,
    config: TrainConfig,
    plan: DevicePlan,
    callbacks: Sequence[keras.callbacks.Callback],
) -> TrainedModel:
    """The channel-table model, fitted by Newton's method (`fontpipe.training.table_fit`) on the
    train split's rows read through `tf.data` and gathered per colour; the validation split
    chooses the smoothness penalty and the step kept; tested once. Each step of the kept
    penalty's run is one row of the history, and Keras callbacks see it as an epoch."""

    model = build_model(config.model, seed=config.seed)
    train_rows = _colour_rows(dataset, "train", config)
    assert train_rows is not None
    val_rows = _colour_rows(dataset, "val", config)
    for callback in callbacks:
        callback.set_model(model)

    def report(step: FitStep) -> None:
        row = {
            "epoch": float(step.step),
            "loss": step.loss,
            "accuracy": step.accuracy,
            "val_loss": step.val_loss,
            "val_errors": float(step.val_errors),
        }
        for callback in callbacks:
            callback.on_epoch_begin(step.step - 1)
            callback.on_epoch_end(step.step - 1, dict(row))

    started = time.perf_counter()
    fit = fit_channel_tables(
        train_rows,
        val_rows,
        max_steps=config.max_newton_steps,
        device=plan.device,
        on_step=report,
    )
    seconds = time.perf_counter() - started
    layer = model.get_layer("channel_tables")
    layer.tables.assign(fit.tables)
    layer.bias.assign(np.asarray(fit.bias).reshape(np.shape(layer.bias)))
    if weights_not_finite(model):
        raise FontpipeError(
            "training diverged: the tables became NaN or infinite; nothing was saved"
        )
    history_rows = [
        {"epoch": float(s.step), "loss": s.loss, "accuracy": s.accuracy, "val_loss": s.val_loss}
        for s in fit.steps
    ]
    if val_rows is not None:
        val = table_model_metrics(model, *read_split_arrays(dataset, "val"))
        history_rows[fit.step - 1]["val_accuracy"] = val["accuracy"]
    test_metrics = (
        table_model_metrics(model, *read_split_arrays(dataset, "test"))
        if dataset.split_rows("test")
        else {}
    )
    record = training_record(dataset, config, plan, history_rows, seconds, test_metrics)
    record = _with_fit(record, fit, history_rows[fit.step - 1], train_rows, val_rows)
    return TrainedModel(model=model, record=record, history=history_rows)


def _colour_rows(dataset: Dataset, split: Split, config: TrainConfig) -> ColourRows | None:
    """A split's rows read through tf.data and gathered per colour; None for an empty split."""
    if dataset.split_rows(split) == 0:
        return None
    gathering = config.inputs.model_copy(update={"batch_size": GATHER_BATCH})
    # Streamed file by file: cut into batches by reshapes, with no per-row tf.data work.
    batches = make_dataset(
        dataset, split, gathering, seed=config.seed, training=False, in_memory=False
    )
    return gather_colour_rows(batches.as_numpy_iterator())


def _with_fit(
    record: TrainingRecord,
    fit: TableFit,
    kept: dict[str, float],
    train_rows: ColourRows,
    val_rows: ColourRows | None,
) -> TrainingRecord:
    """The training record with the kept step's figures and the model card's `fit`."""
    search = [
        {"penalty": s.penalty, "step": s.step, "val_errors": s.val_errors, "val_loss": s.val_loss}
        for s in fit.search
    ]
    return record.model_copy(
        update={
            "metrics": {
                **record.metrics,
                "train": {"loss": kept["loss"], "accuracy": kept["accuracy"]},
                "val": {"loss": kept.get("val_loss"), "accuracy": kept.get("val_accuracy")},
            },
            "fit": {
                "family": "channel-tables",
                "why": TABLES_CHOSEN_BECAUSE,
                "chosen": fit.summary(),
                "penalty": fit.penalty,
                "step": fit.step,
                "search": search,
                "train_rows": train_rows.rows,
                "train_colours": train_rows.colours,
                "val_colours": val_rows.colours if val_rows is not None else 0,
            },
        }
    )


def table_model_metrics(
    model: keras.Model, rgb: np.ndarray[Any, Any], label: np.ndarray[Any, Any]
) -> dict[str, float]:
    """Mean logistic loss and accuracy of a channel-table model on labelled integer colours,
    from its tables in float64 (the layer's own arithmetic at integer inputs)."""
    if not len(label):
        return {"loss": math.nan, "accuracy": math.nan}
    layer = model.get_layer("channel_tables")
    tables = np.asarray(layer.tables, dtype=np.float64)
    bias = float(np.asarray(layer.bias))
    index = rgb.astype(np.int64)
    score = ((tables[0][index[:, 0]] + tables[1][index[:, 1]]) + tables[2][index[:, 2]]) + bias
    black = np.asarray(label) == 1
    loss = np.where(black, np.logaddexp(0.0, -score), np.logaddexp(0.0, score))
    return {"loss": float(loss.mean()), "accuracy": float(np.mean((score > 0) == black))}


def train_version(
    dataset: Dataset | Path | str,
    config: TrainConfig,
    models_dir: Path,
    *,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    on_device_plan: Callable[[DevicePlan], None] | None = None,
) -> ModelVersion:
    """Train (resuming an interrupted run of the same config on the same data) and save the
    result as a new version in `models_dir`. Nothing is saved unless training finishes."""
    if not isinstance(dataset, Dataset):
        dataset = open_dataset(dataset)
    trained = train_model(
        dataset,
        config,
        backup_dir=checkpoint_dir(models_dir, config.run_key(dataset.fingerprint)),
        callbacks=callbacks,
        on_device_plan=on_device_plan,
    )
    if trained.worker != 0:
        save_and_discard(trained.model)
        raise WorkerFinished(trained.worker, trained.workers, weights_sha256(trained.model))
    return save_version(trained, models_dir)
