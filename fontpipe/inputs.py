"""tf.data input pipelines over a generated dataset's splits.

Two paths yield the same element spec, (rgb float32 [batch, 3] in raw 0-255, label int32 [batch]):

- streaming: Parquet record batches read file by file (files interleaved), permuted chunk by
  chunk and shuffled through a seeded buffer of batches; memory is a few chunks whatever the size;
- in memory: when the split fits `memory_budget_mb`, its columns are read once into tensors and
  every epoch draws a fresh seeded permutation; several times faster for the usual sizes.

Colours are never scaled here: normalisation lives in the model (see `fontpipe.model`). Files
are read through `fontpipe.datasets`, their one owner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from fontpipe.datasets import Dataset, iter_file_chunks, read_split_arrays
from fontpipe.errors import FontpipeError
from fontpipe.schema import Split

if TYPE_CHECKING:
    import tensorflow as tf


class InputConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    batch_size: int = Field(512, gt=0)
    # Splits whose columns fit in this many MB are held in memory (~16 bytes a row once decoded).
    memory_budget_mb: float = Field(1024, ge=0, allow_inf_nan=False)
    shuffle_buffer_batches: int = Field(64, gt=0)
    interleave_files: int = Field(4, gt=0)


def split_bytes(dataset: Dataset, split: Split) -> int:
    # float32 channels + int32 label as tensors, whatever the stored dtypes.
    return dataset.split_rows(split) * 16


def fits_in_memory(dataset: Dataset, split: Split, config: InputConfig) -> bool:
    return split_bytes(dataset, split) <= config.memory_budget_mb * 1024 * 1024


def make_dataset(
    dataset: Dataset,
    split: Split,
    config: InputConfig,
    *,
    seed: int,
    training: bool,
    in_memory: bool | None = None,
) -> tf.data.Dataset:
    """Batches of one split. `training` shuffles (seeded) and drops no rows otherwise.

    `in_memory=None` picks the in-memory path when the split fits the memory budget.
    """
    import tensorflow as tf

    rows = dataset.split_rows(split)
    if rows == 0:
        raise FontpipeError(f"{dataset.path}: the {split} split is empty")
    if in_memory is None:
        in_memory = fits_in_memory(dataset, split, config)
    if in_memory:
        rgb, label = read_split_arrays(dataset, split)
        pipeline = _in_memory_batches(rgb, label, config.batch_size, seed=seed, shuffle=training)
    else:
        pipeline = _streaming_batches(dataset, split, config, seed=seed, shuffle=training)
    return pipeline.prefetch(tf.data.AUTOTUNE)


def _in_memory_batches(
    rgb: npt.NDArray[np.float32],
    label: npt.NDArray[np.int32],
    batch_size: int,
    *,
    seed: int,
    shuffle: bool,
) -> tf.data.Dataset:
    import tensorflow as tf

    n = len(label)
    rgb_t = tf.constant(rgb)
    label_t = tf.constant(label)
    if not shuffle:
        return tf.data.Dataset.from_tensor_slices((rgb_t, label_t)).batch(batch_size)

    full_batches = max(n // batch_size, 1)
    used = min(full_batches * batch_size, n)

    def epoch(epoch_seed: tf.Tensor) -> tf.data.Dataset:
        # A fresh permutation per epoch, cut into whole batches by a reshape: no per-row work
        # in tf.data. The few rows past the last whole batch differ from epoch to epoch.
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n), seed=tf.stack([epoch_seed, seed])
        )[:used]
        xs = tf.reshape(tf.gather(rgb_t, order), (-1, min(batch_size, n), 3))
        ys = tf.reshape(tf.gather(label_t, order), (-1, min(batch_size, n)))
        return tf.data.Dataset.from_tensor_slices((xs, ys))

    # Each iteration of the dataset (one per epoch of fit()) takes the next value of a counter
    # that belongs to this pipeline: every epoch a different order, and a new pipeline with the
    # same seed replays the same sequence of orders.
    epochs_started = tf.Variable(0, dtype=tf.int32, trainable=False)
    seeds = tf.data.Dataset.from_tensors(0).map(lambda _: epochs_started.assign_add(1))
    return seeds.flat_map(epoch)


def _whole_batches(rgb: tf.Tensor, label: tf.Tensor, batch_size: int) -> tf.data.Dataset:
    """Cut one chunk into batches by reshaping (no per-row tf.data work); the tail is one short batch."""
    import tensorflow as tf

    n = tf.shape(label)[0]
    full = (n // batch_size) * batch_size
    whole = tf.data.Dataset.from_tensor_slices(
        (tf.reshape(rgb[:full], (-1, batch_size, 3)), tf.reshape(label[:full], (-1, batch_size)))
    )
    tail = tf.data.Dataset.from_tensors((rgb[full:], label[full:])).filter(
        lambda tail_rgb, _: tf.shape(tail_rgb)[0] > 0
    )
    return whole.concatenate(tail)


def _streaming_batches(
    dataset: Dataset, split: Split, config: InputConfig, *, seed: int, shuffle: bool
) -> tf.data.Dataset:
    import tensorflow as tf

    files = [str(p) for p in dataset.split_files(split)]
    spec = (
        tf.TensorSpec(shape=(None, 3), dtype=tf.float32),
        tf.TensorSpec(shape=(None,), dtype=tf.int32),
    )
    paths = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
        paths = paths.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    chunks = paths.interleave(
        lambda path: tf.data.Dataset.from_generator(
            iter_file_chunks, output_signature=spec, args=(path,)
        ),
        cycle_length=min(config.interleave_files, len(files)),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    if shuffle:

        def permute(
            index: tf.Tensor, chunk: tuple[tf.Tensor, tf.Tensor]
        ) -> tuple[tf.Tensor, tf.Tensor]:
            # Stateless, seeded by (seed, chunk position): a stateful tf.random.shuffle keeps its
            # state in a kernel shared by every pipeline built with the same seed, so a second
            # pipeline did not replay the first's order. Which chunk sits at a position changes
            # each epoch with the file order, so the permutations do too.
            rgb, label = chunk
            order = tf.random.experimental.stateless_shuffle(
                tf.range(tf.shape(label)[0]), seed=tf.stack([tf.cast(seed, tf.int64), index])
            )
            return tf.gather(rgb, order), tf.gather(label, order)

        chunks = chunks.enumerate().map(
            permute, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
        )
    batches = chunks.flat_map(lambda rgb, label: _whole_batches(rgb, label, config.batch_size))
    if shuffle:
        batches = batches.shuffle(
            config.shuffle_buffer_batches, seed=seed, reshuffle_each_iteration=True
        )
    return batches


def weighted_batches(
    rgb: npt.NDArray[np.float32],
    label: npt.NDArray[np.int32],
    weight: npt.NDArray[np.float32],
    batch_size: int,
    *,
    seed: int,
) -> tf.data.Dataset:
    """Shuffled (seeded, reshuffled each epoch) batches of (rgb, label, sample weight) held in
    memory: a small human-label split mixed with rows of a rule (the prior)."""
    import tensorflow as tf

    pipeline = tf.data.Dataset.from_tensor_slices(
        (tf.constant(rgb), tf.constant(label), tf.constant(weight))
    )
    pipeline = pipeline.shuffle(len(label), seed=seed, reshuffle_each_iteration=True)
    return pipeline.batch(batch_size).prefetch(tf.data.AUTOTUNE)
