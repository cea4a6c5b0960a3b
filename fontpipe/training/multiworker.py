"""Multi-worker training (TF_CONFIG, MultiWorkerMirroredStrategy): each worker reads its own part
of the train split, all run equal steps over whole global batches, and the chief alone saves.
"""

from __future__ import annotations

# TensorFlow and Keras load on first use: they cost seconds at start-up (python -X importtime), and a look-up never needs them.
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fontpipe.data.datasets import Dataset
from fontpipe.errors import FontpipeError
from fontpipe.model import build_model
from fontpipe.records import TrainedModel
from fontpipe.training.config import TrainConfig, compile_model
from fontpipe.training.devices import DevicePlan
from fontpipe.training.fit import fit_model, training_record
from fontpipe.training.inputs import Shard, make_dataset, worker_batches

if TYPE_CHECKING:
    import keras


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


def save_and_discard(model: keras.Model) -> None:
    """What a worker other than the chief does instead of saving a version: the same
    `model.save` as the chief's, into a temporary directory that is then deleted. Saving this
    mlp in the .keras format reads every variable locally, but saving a distributed model may
    run collective ops (a variable synchronised on read is all-reduced when read), and then
    every worker must join them or the chief waits for ever: TensorFlow's rule for
    MultiWorkerMirroredStrategy is that every worker saves."""
    with tempfile.TemporaryDirectory(prefix="fontpipe-worker-") as scratch:
        model.save(Path(scratch) / "model.keras")


def check_multi_worker_config(config: TrainConfig) -> None:
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


def train_multi_worker(
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

    run = fit_model(
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
    record = training_record(
        dataset, config, plan, run.history, run.seconds, test_metrics, kept=run.kept_epoch
    )
    return TrainedModel(
        model=model,
        record=record,
        history=run.history,
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
