from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections import Counter

import numpy as np
import pyarrow.parquet as pq
import pytest

from fontpipe.errors import FontpipeError
from fontpipe.generate import GenerateConfig
from fontpipe.inputs import InputConfig, make_dataset
from fontpipe.model import ModelConfig, build_model
from fontpipe.store import write_dataset
from fontpipe.train import (
    HISTORY_FILE,
    METADATA_FILE,
    MODEL_FILE,
    TrainConfig,
    load_model_version,
    train_model,
)


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    dataset, _ = write_dataset(
        GenerateConfig(rows=20_000, sampling="boundary", rows_per_file=5_000, seed=3),
        tmp_path_factory.mktemp("ds") / "tiny",
    )
    return dataset


def quick(**overrides):
    values = {"epochs": 2, "inputs": InputConfig(batch_size=256), "device": "cpu"}
    values.update(overrides)
    return TrainConfig(**values)


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
    from fontpipe.rules import RULES

    for rgb, label in make_dataset(tiny_dataset, "train", InputConfig(), seed=0, training=True):
        np.testing.assert_array_equal(RULES["mean"].label(rgb.numpy()), label.numpy())


def test_normalisation_lives_inside_the_model():
    model = build_model(ModelConfig(), seed=0)
    rescale = model.get_layer("to_unit_range")
    out = np.asarray(rescale(np.array([[0.0, 127.5, 255.0]], dtype=np.float32)))
    np.testing.assert_allclose(out, [[-1.0, 0.0, 1.0]], atol=1e-6)
    assert model.layers[1] is rescale  # first layer after the input


def test_train_saves_a_complete_version_and_it_behaves(tiny_dataset, tmp_path):
    result = train_model(tiny_dataset, quick(epochs=3), tmp_path / "models")
    assert sorted(p.name for p in result.path.iterdir()) == sorted(
        [MODEL_FILE, METADATA_FILE, HISTORY_FILE]
    )
    meta = json.loads((result.path / METADATA_FILE).read_text())
    assert meta["dataset"]["fingerprint"] == tiny_dataset.fingerprint and meta["rule"] == "mean"
    assert meta["epochs_run"] == 3 and "CPU" in meta["device"]
    assert set(meta["metrics"]) == {"train", "val", "test"}
    assert meta["versions"]["tensorflow"] and meta["versions"]["fontpipe"]
    assert len((result.path / HISTORY_FILE).read_text().splitlines()) == 4
    model, _ = load_model_version(result.path)
    # Raw 0-255 colours in; the obvious ones must be right after a short real training.
    colours = np.array(
        [
            [255, 255, 255],
            [0, 0, 0],
            [250, 250, 240],
            [10, 20, 5],
            [255, 255, 0],
            [0, 0, 128],
            [200, 200, 200],
            [40, 40, 40],
        ],
        dtype=np.float32,
    )
    logits = np.asarray(model(colours))
    np.testing.assert_array_equal(logits.argmax(axis=1), [1, 0, 1, 0, 1, 0, 1, 0])
    assert meta["metrics"]["test"]["accuracy"] > 0.97


def test_tampered_or_truncated_model_is_refused(tiny_dataset, tmp_path):
    result = train_model(tiny_dataset, quick(epochs=1), tmp_path / "models")
    model_file = result.path / MODEL_FILE
    original = model_file.read_bytes()
    model_file.write_bytes(original[: len(original) // 2])
    with pytest.raises(FontpipeError, match="checksum mismatch"):
        load_model_version(result.path)
    model_file.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    with pytest.raises(FontpipeError, match="checksum mismatch"):
        load_model_version(result.path)


def test_interrupted_run_saves_nothing_and_resumes(tiny_dataset, tmp_path):
    import keras

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt  # as if the process were stopped after two epochs

    models = tmp_path / "models"
    config = quick(epochs=4)
    with pytest.raises(KeyboardInterrupt):
        train_model(tiny_dataset, config, models, callbacks=[Crash()])
    assert [p.name for p in models.iterdir()] == [".checkpoints"]  # no version, only the backup

    resumed = train_model(tiny_dataset, config, models)
    epochs = [int(row["epoch"]) for row in resumed.history]
    assert epochs == [3, 4]  # picked up after the two finished epochs
    assert not any((models / ".checkpoints").iterdir())  # backup cleared once done


def test_same_seed_same_weights_in_deterministic_mode(tiny_dataset, tmp_path):
    config = quick(epochs=1, deterministic=True, seed=11)
    a = train_model(tiny_dataset, config, tmp_path / "a")
    b = train_model(tiny_dataset, config, tmp_path / "b")
    wa = load_model_version(a.path)[0].get_weights()
    wb = load_model_version(b.path)[0].get_weights()
    for x, y in zip(wa, wb, strict=True):
        np.testing.assert_array_equal(x, y)


def test_empty_split_is_refused_before_training(tmp_path):
    dataset, _ = write_dataset(
        GenerateConfig(rows=1000, split_fractions=(0.9, 0.1, 0.0)), tmp_path / "ds"
    )
    with pytest.raises(FontpipeError, match="test split is empty"):
        train_model(dataset, quick(), tmp_path / "models")
    assert not (tmp_path / "models").exists()


def test_mirrored_strategy_over_two_logical_cpus(tiny_dataset, tmp_path):
    # Logical devices must be configured before TensorFlow initialises, hence a fresh process.
    script = textwrap.dedent(
        f"""
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from pathlib import Path
        from fontpipe.inputs import InputConfig
        from fontpipe.train import TrainConfig, train_model
        result = train_model({str(tiny_dataset.path)!r}, TrainConfig(epochs=2, inputs=InputConfig(batch_size=256),
                             device="/cpu:0,/cpu:1"), Path({str(tmp_path / "models")!r}))
        print("REPLICAS", result.metadata["replicas"], result.metadata["device"])
        print("ACCURACY", result.metadata["metrics"]["test"]["accuracy"])
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "REPLICAS 2 mirrored over 2 devices" in done.stdout
    accuracy = float(done.stdout.split("ACCURACY")[1])
    assert accuracy > 0.9  # it really learned across both replicas


def test_unknown_device_is_a_clear_error(tiny_dataset, tmp_path):
    with pytest.raises(FontpipeError, match="no such device"):
        train_model(tiny_dataset, quick(device="/cpu:0,/cpu:7"), tmp_path / "models")
    with pytest.raises(FontpipeError, match="expected auto, cpu, gpu"):
        train_model(tiny_dataset, quick(device="tpu"), tmp_path / "models")
