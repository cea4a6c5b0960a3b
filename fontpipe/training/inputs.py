"""tf.data input pipelines over a generated dataset's splits.

Two paths yield the same element spec, (rgb float32 [batch, 3] in raw 0-255, label int32 [batch]):

- streaming: Parquet record batches read file by file (files interleaved), permuted chunk by
  chunk and shuffled through a seeded buffer of batches; memory is a few chunks whatever the size;
- in memory: when the split fits `memory_budget_mb`, its columns are read once into tensors and
  every epoch draws a fresh seeded permutation; several times faster for the usual sizes.

In multi-worker training each worker reads its own part of the train split (`Shard`): whole files
when there is at least one per worker, else every n-th row of each file; `worker_batches` makes
that part an endless stream of whole global batches (see `fontpipe.training.train`).

Colours are never scaled here: normalisation lives in the model (see `fontpipe.model`). Files
are read through `fontpipe.data.datasets`, their one owner.
"""

from __future__ import annotations

# TensorFlow and Keras load on first use: they cost seconds at start-up (python -X importtime), and a look-up never needs them.
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from fontpipe.data.datasets import Dataset, iter_file_chunks, read_file_arrays, read_split_arrays
from fontpipe.errors import FontpipeError
from fontpipe.schema import Split

if TYPE_CHECKING:
    from collections.abc import Iterator

    import tensorflow as tf


class InputConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    batch_size: int = Field(512, gt=0)
    # Splits whose columns fit in this many MB are held in memory (~16 bytes a row once decoded).
    memory_budget_mb: float = Field(1024, ge=0, allow_inf_nan=False)
    shuffle_buffer_batches: int = Field(64, gt=0)
    interleave_files: int = Field(4, gt=0)


def rows_fit_in_memory(rows: int, config: InputConfig) -> bool:
    # float32 channels + int32 label as tensors, 16 bytes a row, whatever the stored dtypes.
    return rows * 16 <= config.memory_budget_mb * 1024 * 1024


def fits_in_memory(dataset: Dataset, split: Split, config: InputConfig) -> bool:
    return rows_fit_in_memory(dataset.split_rows(split), config)


@dataclass(frozen=True)
class Shard:
    """One worker's part of a split in multi-worker training.

    Worker `index` of `count` reads files index, index + count, ... (`files`, named as in the
    manifest), so no file is read twice and I/O scales with the workers. A split with fewer files
    than workers cannot go round whole: then every worker reads every file and keeps rows
    index, index + count, ... of each (`by_rows`); regenerating with a smaller `--rows-per-file`
    gives it whole files again.
    """

    index: int
    count: int
    split: Split
    files: tuple[str, ...]
    split_files: int  # how many files the whole split has
    by_rows: bool

    def summary(self) -> str:
        """How the split is divided among the workers, in a few words."""
        if self.by_rows:
            return f"each worker reading every {_ordinal(self.count)} {self.split} row"
        return f"each worker reading its own {self.split} files"

    def describe(self) -> str:
        """What this worker reads, naming the files (the first few of many)."""
        if self.by_rows:
            files = "file" if self.split_files == 1 else f"{self.split_files} files"
            return (
                f"reads rows {self.index}, {self.index + self.count}, ... of each {self.split} "
                f"file, since the split has fewer files than workers ({files}; a smaller "
                "--rows-per-file gives each worker whole files)"
            )
        shown = ", ".join(self.files[:_FILES_SHOWN])
        more = len(self.files) - _FILES_SHOWN
        listed = f"{shown} and {more} more" if more > 0 else shown
        return f"reads {len(self.files)} of the {self.split_files} {self.split} files: {listed}"


_FILES_SHOWN = 8


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def shard_split(dataset: Dataset, split: Split, index: int, count: int) -> Shard:
    """Worker `index` of `count`'s part of `split` (see `Shard`)."""
    if not 0 <= index < count:
        raise FontpipeError(f"worker {index} is not one of {count} workers")
    names = tuple(str(f) for f in dataset.manifest["splits"][split]["files"])
    by_rows = len(names) < count
    return Shard(
        index=index,
        count=count,
        split=split,
        files=names if by_rows else names[index::count],
        split_files=len(names),
        by_rows=by_rows,
    )


def worker_batches(
    dataset: Dataset, shard: Shard, config: InputConfig, *, seed: int
) -> tf.data.Dataset:
    """This worker's part of a split, shuffled and repeated without end, in whole batches of
    `batch_size` rows: the global batch, which the strategy splits among the replicas (a worker
    with one replica of two trains on half of each batch it reads). Its steps per epoch are the
    caller's to set, the same on every worker: a worker whose part ran out first would leave the
    others waiting in a collective. TensorFlow's own auto-sharding is off, since the sharding
    is done here.
    """
    import tensorflow as tf

    files = [str(dataset.path / name) for name in shard.files]
    rows = (shard.index, shard.count) if shard.by_rows else None
    rows_in_split = dataset.split_rows(shard.split)
    share = (
        rows_in_split // shard.count
        if shard.by_rows
        else rows_in_split * len(files) // shard.split_files
    )
    if rows_fit_in_memory(share, config):
        rgb, label = read_file_arrays(files, rows or (0, 1))
        if not len(label):
            raise FontpipeError(f"{dataset.path}: worker {shard.index} has no {shard.split} rows")
        pipeline = _in_memory_batches(rgb, label, config.batch_size, seed=seed, shuffle=True)
    else:
        pipeline = _streaming_batches(
            dataset,
            shard.split,
            config,
            seed=seed,
            shuffle=True,
            files=files,
            rows=rows,
        )
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    # Repeated before the rebatch, so that every batch is whole: the chunk tails of the streaming
    # path join the next chunk's rows instead of making short batches.
    pipeline = pipeline.repeat().rebatch(config.batch_size, drop_remainder=True)
    return pipeline.with_options(options).prefetch(tf.data.AUTOTUNE)


def _iter_file_rows(
    path: str | bytes, start: int, step: int
) -> Iterator[tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]]:
    """The chunks of one file, keeping rows start, start + step, ... counted from the file's
    first row, whatever the chunk sizes (tf.data passes the numbers as numpy integers)."""
    start, step = int(start), int(step)
    offset = 0
    for rgb, label in iter_file_chunks(path):
        first = (start - offset) % step
        offset += len(label)
        yield rgb[first::step], label[first::step]


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
    dataset: Dataset,
    split: Split,
    config: InputConfig,
    *,
    seed: int,
    shuffle: bool,
    files: list[str] | None = None,
    rows: tuple[int, int] | None = None,
) -> tf.data.Dataset:
    """`files`: these files of the split instead of all of them; `rows` = (start, step): only rows
    start, start + step, ... of each file (a worker's share when it reads every file)."""
    import tensorflow as tf

    if files is None:
        files = [str(p) for p in dataset.split_files(split)]
    spec = (
        tf.TensorSpec(shape=(None, 3), dtype=tf.float32),
        tf.TensorSpec(shape=(None,), dtype=tf.int32),
    )
    paths = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
        paths = paths.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)

    def read(path: tf.Tensor) -> tf.data.Dataset:
        if rows is None:
            return tf.data.Dataset.from_generator(
                iter_file_chunks, output_signature=spec, args=(path,)
            )
        return tf.data.Dataset.from_generator(
            _iter_file_rows, output_signature=spec, args=(path, *rows)
        )

    chunks = paths.interleave(
        read,
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
