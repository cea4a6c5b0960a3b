from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fontpipe.data.datasets import write_dataset
from fontpipe.data.generation import GenerateConfig
from fontpipe.errors import FontpipeError
from fontpipe.model import ModelConfig, build_model
from fontpipe.registry.versions import (
    HISTORY_FILE,
    METADATA_FILE,
    MODEL_FILE,
    load_version,
    read_history,
)
from fontpipe.training.config import TrainConfig
from fontpipe.training.inputs import InputConfig
from fontpipe.training.train import train_model, train_version


def quick(**overrides):
    values = {"epochs": 2, "inputs": InputConfig(batch_size=256), "device": "cpu"}
    values.update(overrides)
    return TrainConfig(**values)


def test_normalisation_lives_inside_the_model():
    model = build_model(ModelConfig(), seed=0)
    rescale = model.get_layer("to_unit_range")
    out = np.asarray(rescale(np.array([[0.0, 127.5, 255.0]], dtype=np.float32)))
    np.testing.assert_allclose(out, [[-1.0, 0.0, 1.0]], atol=1e-6)
    assert model.layers[1] is rescale  # first layer after the input


def test_train_saves_a_complete_version_and_it_behaves(tiny_dataset, tmp_path):
    result = train_version(tiny_dataset, quick(epochs=3), tmp_path / "models")
    assert sorted(p.name for p in result.path.iterdir()) == sorted(
        [MODEL_FILE, METADATA_FILE, HISTORY_FILE]
    )
    meta = json.loads((result.path / METADATA_FILE).read_text())
    assert meta["dataset"]["fingerprint"] == tiny_dataset.fingerprint and meta["rule"] == "mean"
    assert meta["epochs_run"] == 3 and "CPU" in meta["device"]
    assert set(meta["metrics"]) == {"train", "val", "test"}
    assert meta["versions"]["tensorflow"] and meta["versions"]["fontpipe"]
    assert len((result.path / HISTORY_FILE).read_text().splitlines()) == 4
    model = load_version(result.path).model
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
    # The test colours are never training colours (and half lie near the boundary).
    assert meta["metrics"]["test"]["accuracy"] > 0.95


def test_tampered_or_truncated_model_is_refused(tiny_dataset, tmp_path):
    result = train_version(tiny_dataset, quick(epochs=1), tmp_path / "models")
    model_file = result.path / MODEL_FILE
    original = model_file.read_bytes()
    model_file.write_bytes(original[: len(original) // 2])
    with pytest.raises(FontpipeError, match="checksum mismatch"):
        load_version(result.path)
    model_file.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    with pytest.raises(FontpipeError, match="checksum mismatch"):
        load_version(result.path)


def test_interrupted_run_saves_nothing_and_resumes(tiny_dataset, tmp_path):
    import keras

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt  # as if the process were stopped after two epochs

    models = tmp_path / "models"
    config = quick(epochs=4)
    with pytest.raises(KeyboardInterrupt):
        train_version(tiny_dataset, config, models, callbacks=[Crash()])
    assert [p.name for p in models.iterdir()] == [".checkpoints"]  # no version, only the backup

    ran = []

    class CountEpochs(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            ran.append(epoch + 1)

    resumed = train_version(tiny_dataset, config, models, callbacks=[CountEpochs()])
    assert ran == [3, 4]  # picked up after the two finished epochs
    # ... and the version describes the whole run, not only the resumed epochs.
    assert [int(row["epoch"]) for row in read_history(resumed)] == [1, 2, 3, 4]
    assert resumed.metadata.epochs_run == 4
    assert not any((models / ".checkpoints").iterdir())  # backup cleared once done


def test_same_seed_same_weights_in_deterministic_mode(tiny_dataset, tmp_path):
    config = quick(epochs=1, deterministic=True, seed=11)
    a = train_model(tiny_dataset, config)
    b = train_model(tiny_dataset, config)
    wa = a.model.get_weights()
    wb = b.model.get_weights()
    for x, y in zip(wa, wb, strict=True):
        np.testing.assert_array_equal(x, y)


def test_empty_split_is_refused_before_training(tmp_path):
    dataset, _ = write_dataset(
        GenerateConfig(rows=1000, split_fractions=(0.9, 0.1, 0.0)), tmp_path / "ds"
    )
    with pytest.raises(FontpipeError, match="test split is empty"):
        train_version(dataset, quick(), tmp_path / "models")
    assert not (tmp_path / "models").exists()


def test_mirrored_strategy_over_two_logical_cpus(tiny_dataset, tmp_path):
    # Logical devices must be configured before TensorFlow initialises, hence a fresh process.
    script = textwrap.dedent(
        f"""
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from pathlib import Path
        from fontpipe.training.inputs import InputConfig
        from fontpipe.training.config import TrainConfig
        from fontpipe.training.train import train_version
        result = train_version({str(tiny_dataset.path)!r}, TrainConfig(epochs=2, inputs=InputConfig(batch_size=256),
                               device="/cpu:0,/cpu:1"), Path({str(tmp_path / "models")!r}))
        print("REPLICAS", result.metadata.replicas, result.metadata.device)
        print("ACCURACY", result.metadata.metrics["test"]["accuracy"])
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
        train_model(tiny_dataset, quick(device="/cpu:0,/cpu:7"))
    with pytest.raises(FontpipeError, match="expected auto, cpu, gpu"):
        train_model(tiny_dataset, quick(device="tpu"))
