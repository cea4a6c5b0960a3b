"""Training: a typed config and a dataset in, a trained model out (`TrainedModel`).

`train_version` is the usual caller: it trains, then asks `fontpipe.registry.versions` to save the result
as a new version directory; training itself writes nothing but its resumable backups.

The defaults are the ones that reach zero errors on the whole 24-bit cube for the `mean` rule on
a 1 M-row boundary dataset: the proven 10-10-5 ReLU network, Adam at 0.01 decayed by a cosine
schedule to 1 % over the run, batches of 512, 3 epochs.

With TF_CONFIG set, the same call trains one model over several worker processes
(MultiWorkerMirroredStrategy; see `_train_multi_worker`): each worker reads its own part of the
train split, and `train_version` saves the result on the chief alone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from fontpipe.color.rules import get_rule
from fontpipe.data.datasets import Dataset, open_dataset
from fontpipe.errors import FontpipeError, build_config
from fontpipe.model import ModelConfig, build_model
from fontpipe.records import TrainedModel, TrainingRecord, package_version
from fontpipe.registry.versions import (
    ModelVersion,
    checkpoint_dir,
    save_version,
    weights_sha256,
)
from fontpipe.schema import DEFAULT_RULE, SPLITS
from fontpipe.training.checkpoints import resumable_backup
from fontpipe.training.devices import DevicePlan, multi_worker_requested, plan_devices
from fontpipe.training.inputs import InputConfig, Shard, make_dataset, shard_split, worker_batches

if TYPE_CHECKING:
    import keras


class TrainConfig(BaseModel):
    """How to train: the model family and its optimiser settings. Frozen; part of the run key
    that lets an interrupted run resume."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: ModelConfig = ModelConfig()
    inputs: InputConfig = InputConfig()
    epochs: int = Field(3, gt=0)
    learning_rate: float = Field(0.01, gt=0, allow_inf_nan=False)
    schedule: Literal["cosine", "exponential", "constant"] = "cosine"
    # The learning rate at the end of the run, as a fraction of the start (cosine, exponential).
    final_lr_fraction: float = Field(0.01, gt=0, le=1)
    early_stopping_patience: int = Field(2, ge=1)
    seed: int = Field(0, ge=0)
    device: str = "auto"
    deterministic: bool = False
    # channel-tables only: the most Newton steps (it stops earlier, once every training colour
    # is right and a few more steps have widened the margin).
    max_newton_steps: int = Field(60, gt=0)
    # Mixing in a rule (mlp only): a human-label dataset is small, so `prior_rows` uniform
    # colours labelled by the `prior` rule supply the rest of the cube, together carrying
    # `prior_weight` of the training signal (the human rows carry the rest).
    prior: str | None = None
    prior_weight: float = Field(0.3, ge=0.0, lt=1.0)
    prior_rows: int = Field(200_000, gt=0)

    @field_validator("prior")
    @classmethod
    def _known_prior(cls, value: str | None) -> str | None:
        if value is not None:
            get_rule(value)
        return value

    def run_key(self, dataset_fingerprint: str) -> str:
        """Identifies 'the same training run' so an interrupted one can resume from its backup."""
        blob = json.dumps([self.model_dump(mode="json"), dataset_fingerprint], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def parse_train_config(**values: Any) -> TrainConfig:
    return build_config(TrainConfig, **values)


def learning_rate_schedule(config: TrainConfig, total_steps: int) -> Any:
    import keras

    if config.schedule == "constant":
        return config.learning_rate
    if config.schedule == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(
            config.learning_rate,
            decay_steps=max(total_steps, 1),
            decay_rate=config.final_lr_fraction,
        )
    return keras.optimizers.schedules.CosineDecay(
        config.learning_rate, decay_steps=max(total_steps, 1), alpha=config.final_lr_fraction
    )


def compile_model(
    model: keras.Model, config: TrainConfig, total_steps: int, jit_compile: bool
) -> None:
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate_schedule(config, total_steps)),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        jit_compile=jit_compile,
    )


class WorkerFinished(FontpipeError):
    """`train_version` on a worker other than the chief in multi-worker training: its part of the
    run finished, and it saved nothing; the chief saves the model version. Not a failure (exit
    code 0): the message says which worker it was, and the digest of the weights it ended with,
    which equals the `weights_sha256` of the version the chief saves."""

    exit_code = 0

    def __init__(self, worker: int, workers: int, weights_digest: str) -> None:
        self.worker = worker
        self.workers = workers
        self.weights_sha256 = weights_digest
        super().__init__(
            f"worker {worker} of {workers} finished training (weights sha256 "
            f"{weights_digest[:16]}); the chief, worker 0, saves the model version"
        )


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
    from fontpipe.quiet import import_tensorflow

    tf = import_tensorflow()
    import keras

    if not isinstance(dataset, Dataset):
        dataset = open_dataset(dataset)
    for split in SPLITS:
        if dataset.split_rows(split) == 0:
            raise FontpipeError(f"{dataset.path}: the {split} split is empty; generate more rows")
    if multi_worker_requested():
        # Checked before the strategy is made, which waits for every worker to join.
        _check_multi_worker_config(config)
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
        return _train_multi_worker(dataset, config, plan, shard, callbacks)

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

    history_rows, train_seconds = _fit(
        model, train_data, val_data, config, backup_dir=backup_dir, callbacks=callbacks
    )
    test_metrics = model.evaluate(test_data, verbose=0, return_dict=True)
    if backup_dir is not None:
        shutil.rmtree(backup_dir, ignore_errors=True)

    record = training_record(dataset, config, plan, history_rows, train_seconds, test_metrics)
    return TrainedModel(model=model, record=record, history=history_rows)


def _train_with_prior(dataset: Dataset, config: TrainConfig) -> tuple[Any, int]:
    """The dataset's train split (weight 1 a row) with `prior_rows` uniform colours labelled by
    the prior rule, weighted so that they carry `prior_weight` of the total."""
    from fontpipe.data.datasets import read_split_arrays
    from fontpipe.data.generation import rule_rows
    from fontpipe.training.inputs import weighted_batches

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
    """The channel-table model, fitted by Newton's method on the train split gathered into the
    cube (`fontpipe.training.table_fit`); validated after every step, tested once. Each step is one row
    of the history, and Keras callbacks see it as an epoch."""
    from fontpipe.data.datasets import iter_file_chunks, read_split_arrays
    from fontpipe.training.table_fit import FitStep, fit_channel_tables, gather_cube_targets

    model = build_model(config.model, seed=config.seed)
    targets = gather_cube_targets(
        chunk for path in dataset.split_files("train") for chunk in iter_file_chunks(str(path))
    )
    val_rgb, val_label = read_split_arrays(dataset, "val")
    history_rows: list[dict[str, float]] = []
    for callback in callbacks:
        callback.set_model(model)

    def record(step: FitStep) -> None:
        val = table_model_metrics(model, val_rgb, val_label)
        row = {
            "epoch": float(step.step),
            "loss": step.loss,
            "accuracy": step.accuracy,
            "val_loss": val["loss"],
            "val_accuracy": val["accuracy"],
        }
        history_rows.append(row)
        for callback in callbacks:
            callback.on_epoch_begin(step.step - 1)
            callback.on_epoch_end(step.step - 1, dict(row))

    started = time.perf_counter()
    fit_channel_tables(model, targets, max_steps=config.max_newton_steps, on_step=record)
    seconds = time.perf_counter() - started
    if _weights_not_finite(model):
        raise FontpipeError(
            "training diverged: the tables became NaN or infinite; nothing was saved"
        )
    test_metrics = table_model_metrics(model, *read_split_arrays(dataset, "test"))
    record_ = training_record(dataset, config, plan, history_rows, seconds, test_metrics)
    return TrainedModel(model=model, record=record_, history=history_rows)


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


def _fit(
    model: keras.Model,
    train_data: Any,
    val_data: Any,
    config: TrainConfig,
    *,
    backup_dir: Path | None,
    callbacks: Sequence[keras.callbacks.Callback],
    steps_per_epoch: int | None = None,
    validation: keras.callbacks.Callback | None = None,
) -> tuple[list[dict[str, float]], float]:
    """Run Keras' fit with backups, early stopping and a per-epoch record; returns the record and
    the wall time.

    `val_data` is validated by Keras after each epoch; or, with `val_data` None, `validation` is a
    callback that adds val_loss and val_accuracy to each epoch's logs itself (it runs first, so
    the record and early stopping see them).
    """
    import keras

    history_rows: list[dict[str, float]] = []
    # The recorder comes first: each epoch's row is in the checkpoint the backup then commits.
    backup = resumable_backup(backup_dir, history_rows) if backup_dir is not None else None
    started = time.perf_counter()
    # steps_per_epoch only for an endless (repeated) dataset, as multi-worker training passes:
    # with it Keras keeps one iterator across epochs, and a finite one-epoch dataset would be
    # exhausted after the first.
    model.fit(
        train_data,
        epochs=config.epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=val_data,
        verbose=0,
        callbacks=[
            *([validation] if validation is not None else []),
            history_recorder(history_rows),
            *([backup] if backup is not None else []),
            # Stops at the first non-finite batch loss; checked below, so a diverged run raises
            # instead of saving a model that answers NaN.
            keras.callbacks.TerminateOnNaN(),
            keras.callbacks.EarlyStopping(
                monitor="val_loss",
                patience=config.early_stopping_patience,
                restore_best_weights=True,
            ),
            *callbacks,
        ],
    )
    # A resumed run reports the whole run: its epochs and seconds before the interruption too.
    train_seconds = backup.total_seconds() if backup is not None else time.perf_counter() - started
    diverged = [row for row in history_rows if not math.isfinite(row.get("loss", math.nan))]
    if diverged or _weights_not_finite(model):
        if backup_dir is not None:
            shutil.rmtree(backup_dir, ignore_errors=True)  # never resume from a diverged state
        where = f" in epoch {int(diverged[0]['epoch'])}" if diverged else ""
        raise FontpipeError(
            f"training diverged: the loss became NaN or infinite{where}; nothing was saved. "
            "Lower --lr (or check the data) and run again"
        )
    return history_rows, train_seconds


def _weights_not_finite(model: keras.Model) -> bool:
    return not all(np.isfinite(w).all() for w in model.get_weights())


def training_record(
    dataset: Dataset,
    config: TrainConfig,
    plan: DevicePlan,
    history_rows: list[dict[str, float]],
    train_seconds: float,
    test_metrics: dict[str, Any],
) -> TrainingRecord:
    import keras
    import tensorflow as tf

    last = history_rows[-1] if history_rows else {}
    return TrainingRecord(
        config=config.model_dump(mode="json"),
        dataset=dataset.info(),
        rule=dataset.rule,
        device=plan.description,
        replicas=plan.replicas,
        epochs_run=len(history_rows),
        train_seconds=round(train_seconds, 3),
        metrics={
            "train": {"loss": last.get("loss"), "accuracy": last.get("accuracy")},
            "val": {"loss": last.get("val_loss"), "accuracy": last.get("val_accuracy")},
            "test": {k: float(v) for k, v in test_metrics.items()},
        },
        versions={
            "fontpipe": package_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "python": platform.python_version(),
        },
    )


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
        _save_and_discard(trained.model)
        raise WorkerFinished(trained.worker, trained.workers, weights_sha256(trained.model))
    return save_version(trained, models_dir)


def _save_and_discard(model: keras.Model) -> None:
    """What a worker other than the chief does instead of saving a version: the same
    `model.save` as the chief's, into a temporary directory that is then deleted. Saving this
    mlp in the .keras format reads every variable locally, but saving a distributed model may
    run collective ops (a variable synchronised on read is all-reduced when read), and then
    every worker must join them or the chief waits for ever: TensorFlow's rule for
    MultiWorkerMirroredStrategy is that every worker saves."""
    with tempfile.TemporaryDirectory(prefix="fontpipe-worker-") as scratch:
        model.save(Path(scratch) / "model.keras")


def _check_multi_worker_config(config: TrainConfig) -> None:
    """What multi-worker training does not do, refused before any worker waits for the others."""
    if config.model.architecture == "channel-tables":
        # Newton's method on the cube of the whole train split is one process's job, and takes
        # seconds; spreading it would only add a reduction of the cube per step.
        raise FontpipeError(
            "channel-tables fits by Newton's method in one process; multi-worker training "
            "(TF_CONFIG is set) trains the mlp. Unset TF_CONFIG to fit channel tables"
        )
    if config.prior is not None:
        raise FontpipeError(
            "--prior trains on a small human-label dataset mixed in memory, a one-process job; "
            "unset TF_CONFIG to train with it"
        )


def _train_multi_worker(
    dataset: Dataset,
    config: TrainConfig,
    plan: DevicePlan,
    shard: Shard,
    callbacks: Sequence[keras.callbacks.Callback],
) -> TrainedModel:
    """The mlp trained by MultiWorkerMirroredStrategy, one process per worker.

    - Input: each worker reads its own part of the train split (`shard`: files i, i + n, ... for
      worker i of n), shuffled, repeated and cut into whole batches of `batch_size`.
    - Batch: `batch_size` stays the global batch, the rows of one optimiser step as on one
      device; the strategy splits each batch a worker reads among all the replicas (with one
      replica per worker and two workers, each worker trains on half of each batch it reads), so
      the learning-rate schedule and steps per epoch mean what they mean on one device.
    - Steps: an epoch is (train rows of the whole split) // batch_size steps on every worker: the
      count is taken from the manifest, equal everywhere, because a worker that stopped early
      would leave the others waiting in a collective op.
    - Validation and test: each worker evaluates a copy of the model outside the strategy on the
      whole val (each epoch) and test (once) split; exact, and independent of how the split
      divides among workers. The val numbers are averaged over the workers, so that every worker
      stops early at the same epoch.
    - No resumable backup: an interrupted run starts over.
    """
    batch = config.inputs.batch_size
    if batch < plan.replicas:
        raise FontpipeError(
            f"--batch-size {batch} is the global batch, split among {plan.replicas} replicas; "
            f"give at least {plan.replicas}"
        )
    train_data = worker_batches(dataset, shard, config.inputs, seed=config.seed)
    val_data = make_dataset(dataset, "val", config.inputs, seed=config.seed, training=False)
    test_data = make_dataset(dataset, "test", config.inputs, seed=config.seed, training=False)
    steps_per_epoch = max(dataset.split_rows("train") // batch, 1)

    _reduce_scalar_logs_across_workers()
    with plan.strategy.scope():
        model = build_model(config.model, seed=config.seed)
        compile_model(model, config, steps_per_epoch * config.epochs, plan.jit_compile)
    _build_from_zeros(model, train_data)
    evaluator = _local_copy(model)

    def evaluate(data: Any) -> dict[str, float]:
        evaluator.set_weights(model.get_weights())
        metrics = evaluator.evaluate(data, verbose=0, return_dict=True)
        return {name: float(value) for name, value in metrics.items()}

    history_rows, train_seconds = _fit(
        model,
        train_data,
        None,
        config,
        backup_dir=None,
        callbacks=callbacks,
        steps_per_epoch=steps_per_epoch,
        validation=_validation_callback(evaluate, val_data, plan),
    )
    test_metrics = evaluate(test_data)
    record = training_record(dataset, config, plan, history_rows, train_seconds, test_metrics)
    return TrainedModel(
        model=model,
        record=record,
        history=history_rows,
        worker=plan.worker,
        workers=plan.workers,
    )


def _build_from_zeros(model: keras.Model, train_data: Any) -> None:
    """Keras' fit first builds the compiled loss, metrics and optimizer from one batch, which it
    takes from the distributed iterator and averages over the replicas with `strategy.reduce` on
    the nested (x, y) structure of per-replica values: MultiWorkerMirroredStrategy cannot reduce
    that, and fit fails before its first step. The build needs shapes and dtypes only, so this
    model builds from a batch of zeros shaped like the input's batches instead (the patch is on
    this model object alone)."""
    import tensorflow as tf

    zeros = tf.nest.map_structure(
        lambda spec: np.zeros((1, *spec.shape[1:]), spec.dtype.as_numpy_dtype),
        train_data.element_spec,
    )
    build = model._maybe_symbolic_build

    def build_from_zeros(iterator: Any = None, data_batch: Any = None) -> Any:
        return build(data_batch=zeros if data_batch is None else data_batch)

    model._maybe_symbolic_build = build_from_zeros


def _reduce_scalar_logs_across_workers() -> None:
    """Keras' TensorFlow trainer averages each step's logs across the workers of a
    MultiWorkerMirroredStrategy with `strategy.reduce("MEAN", value, axis=0)`, which fails on
    the scalar loss and metric values ("axis 0" of a scalar). Scalars are averaged with
    axis=None instead (a plain mean over the replicas); everything else, and every other
    strategy, goes through Keras' own function. Installed once per process; a no-op outside
    multi-worker training."""
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer

    original = trainer.reduce_per_replica
    if getattr(original, "scalar_mean_across_workers", False):
        return

    def reduce_per_replica(values: Any, strategy: Any, reduction: str) -> Any:
        if reduction not in {"auto", "mean"} or not trainer._collective_all_reduce_multi_worker(
            strategy
        ):
            return original(values, strategy, reduction)

        def mean(value: Any) -> Any:
            rank = strategy.experimental_local_results(value)[0].shape.rank
            return strategy.reduce("MEAN", value, axis=None if rank == 0 else 0)

        return tf.nest.map_structure(mean, values)

    reduce_per_replica.scalar_mean_across_workers = True  # type: ignore[attr-defined]
    trainer.reduce_per_replica = reduce_per_replica


def _local_copy(model: keras.Model) -> keras.Model:
    """A copy of `model` made outside any distribution strategy and compiled with the same loss
    and metric, for a worker to evaluate on its own (weights set from the model each time)."""
    import keras

    copy = keras.models.clone_model(model)
    copy.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return copy


def _validation_callback(
    evaluate: Callable[[Any], dict[str, float]], val_data: Any, plan: DevicePlan
) -> keras.callbacks.Callback:
    """Adds val_loss and val_accuracy to each epoch's logs: the whole val split evaluated here,
    averaged over the workers. Every worker holds the same weights, so the average only irons out
    any difference of rounding between machines; what matters is that the numbers are equal on
    every worker, since early stopping on one worker alone would leave the others waiting."""
    import keras
    import tensorflow as tf

    class Validation(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            if logs is None:
                return
            metrics = evaluate(val_data)
            local = tf.constant([metrics["loss"], metrics["accuracy"]], tf.float64)
            agreed = plan.strategy.reduce("MEAN", local, axis=None).numpy()
            # Keras hands every callback this same dict: the ones after this see the numbers.
            logs["val_loss"], logs["val_accuracy"] = float(agreed[0]), float(agreed[1])

    return Validation()


def history_recorder(rows: list[dict[str, float]]) -> keras.callbacks.Callback:
    """Collects per-epoch logs as plain floats (Keras' History is tied to one fit call)."""
    import keras

    class Recorder(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            row = {"epoch": float(epoch + 1), **{k: float(v) for k, v in (logs or {}).items()}}
            optimizer = self.model.optimizer
            row["learning_rate"] = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
            rows.append(row)

    return Recorder()


class OriginalRecipe(BaseModel):
    """The fixed network of the original question, as a reference: 10-10-5 ReLU, He init, Adam
    0.01, 5,000 steps of 128 on 10,000 uniform float rows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rows: int = 10_000
    steps: int = 5_000
    batch_size: int = 128
    learning_rate: float = 0.01
    seed: int = 0
    rule: str = DEFAULT_RULE


def train_original_recipe(recipe: OriginalRecipe = OriginalRecipe()) -> tuple[keras.Model, float]:
    """The reference model and its training wall time in seconds."""
    from fontpipe.data.generation import rule_rows
    from fontpipe.quiet import import_tensorflow

    tf = import_tensorflow()
    import keras

    rows = rule_rows(recipe.rows, recipe.rule, "uniform-float", recipe.seed)
    keras.utils.set_random_seed(recipe.seed)
    model = build_model(ModelConfig(), seed=recipe.seed)
    model.compile(
        optimizer=keras.optimizers.Adam(recipe.learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    data = (
        tf.data.Dataset.from_tensor_slices((rows.rgb.astype("float32"), rows.label.astype("int32")))
        .shuffle(recipe.rows, seed=recipe.seed)
        .repeat()
        .batch(recipe.batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    started = time.perf_counter()
    model.fit(data, steps_per_epoch=recipe.steps, epochs=1, verbose=0)
    return model, time.perf_counter() - started
