"""tf.data pipelines over generated Parquet datasets."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow.parquet as pq
import pytest

from fontpipe.data.datasets import write_dataset
from fontpipe.data.generation import GenerateConfig
from fontpipe.training.inputs import InputConfig, make_dataset


def _colours(pipeline):
    rows = Counter()
    for rgb, label in pipeline:
        assert rgb.dtype.name == "float32" and label.dtype.name == "int32"
        assert rgb.shape[1] == 3 and rgb.shape[0] == label.shape[0]
        for row in rgb.numpy().astype(int):
            rows[tuple(row)] += 1
    return rows


def _split_colours(dataset, split):
    rows = Counter()
    for path in dataset.split_files(split):
        table = pq.read_table(path)
        for row in zip(*(table.column(c).to_pylist() for c in "rgb"), strict=True):
            rows[row] += 1
    return rows


@pytest.mark.parametrize("in_memory", [True, False])
def test_eval_pipeline_yields_exactly_the_split(tiny_dataset, in_memory):
    for split in ("val", "test"):
        pipeline = make_dataset(
            tiny_dataset,
            split,
            InputConfig(batch_size=300),
            seed=0,
            training=False,
            in_memory=in_memory,
        )
        assert _colours(pipeline) == _split_colours(tiny_dataset, split)


@pytest.mark.parametrize("in_memory", [True, False])
def test_training_pipeline_shuffles_within_the_train_split_only(tiny_dataset, in_memory):
    def fresh():
        return make_dataset(
            tiny_dataset,
            "train",
            InputConfig(batch_size=256),
            seed=1,
            training=True,
            in_memory=in_memory,
        )

    def first_batch(p):
        return next(iter(p))[0].numpy()

    seen = _colours(fresh())
    train = _split_colours(tiny_dataset, "train")
    assert not (seen - train)  # nothing from val or test
    assert sum(seen.values()) >= sum(train.values()) - 256  # at most one partial batch dropped

    a = fresh()
    a_epoch1, a_epoch2 = first_batch(a), first_batch(a)
    assert not np.array_equal(a_epoch1, a_epoch2)  # a new order each epoch
    np.testing.assert_array_equal(first_batch(fresh()), a_epoch1)  # same seed, same order


def test_labels_travel_with_their_colours(tiny_dataset):
    from fontpipe.color.rules import RULES

    for rgb, label in make_dataset(tiny_dataset, "train", InputConfig(), seed=0, training=True):
        np.testing.assert_array_equal(RULES["mean"].label(rgb.numpy()), label.numpy())
