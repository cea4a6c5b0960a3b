"""Artefacts a later step trusts are verified when loaded: a tampered cube table, a diverged
model, an unreadable checkpoint and a torn registry are refused or rebuilt, never used."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from cli.app import app
from fontpipe.color.rules import RULES
from fontpipe.data.datasets import write_dataset
from fontpipe.data.generation import GenerateConfig
from fontpipe.errors import FontpipeError
from fontpipe.evaluation.metrics import evaluate_cube
from fontpipe.records import Headline
from fontpipe.registry.champions import champion, promote
from fontpipe.registry.promotion import PromotionPolicy, decide_promotion
from fontpipe.registry.versions import (
    CUBE_FILE,
    CUBE_RECORD_FILE,
    checkpoint_dir,
    ensure_cube_table,
    open_version,
    read_history,
)
from fontpipe.training.checkpoints import RECORD_FILE
from fontpipe.training.config import TrainConfig, parse_train_config
from fontpipe.training.inputs import InputConfig
from fontpipe.training.train import train_version

runner = CliRunner()


@pytest.fixture
def version_copy(tiny_version, tmp_path):
    """A private copy of the tiny trained version (with its verified cube table)."""
    models = tmp_path / "models"
    target = models / tiny_version.name
    shutil.copytree(tiny_version, target)
    return target


def predict_white_on(version_path):
    result = runner.invoke(app, ["predict", "--model", str(version_path), "#ffffff"])
    assert result.exit_code == 0, result.output
    return result.output


def test_an_inverted_cube_table_is_never_used(version_copy):
    table = np.load(version_copy / CUBE_FILE)
    np.save(version_copy / CUBE_FILE, np.float16(1) - table)
    out = predict_white_on(version_copy)
    assert "black" in out and "21.00:1" in out  # rebuilt from the model, not inverted
    rebuilt = ensure_cube_table(open_version(version_copy))
    assert evaluate_cube(rebuilt, RULES["mean"]).errors < 1_000_000


def test_another_versions_table_is_refused_by_promote_and_rebuilt_for_use(version_copy):
    other = np.zeros(16_777_216, dtype=np.float16)  # "always white": a different model's table
    np.save(version_copy / CUBE_FILE, other)
    (version_copy / CUBE_RECORD_FILE).write_text(
        json.dumps(
            {**json.loads((version_copy / CUBE_RECORD_FILE).read_text()), "model_sha256": "0" * 64}
        )
    )
    with pytest.raises(FontpipeError, match="another model"):
        promote(version_copy.parent, version_copy.name)
    assert champion(version_copy.parent) is None
    assert "black" in predict_white_on(version_copy)


def test_a_truncated_table_is_refused_by_promote(version_copy):
    data = (version_copy / CUBE_FILE).read_bytes()
    (version_copy / CUBE_FILE).write_bytes(data[: len(data) // 3])
    with pytest.raises(FontpipeError, match="checksum mismatch"):
        promote(version_copy.parent, version_copy.name)


def test_a_table_left_from_a_replaced_model_is_rebuilt(tiny_version, version_copy, tmp_path):
    # Another model file (another shape) with model_sha256 updated to match it: the version's
    # model is genuine, but cube.npy still answers for the old model.
    other = train_version(
        tiny_version.parent.parent / "ds",
        TrainConfig(epochs=1, model={"hidden": (4,)}, device="cpu"),
        tmp_path / "other-models",
    )
    shutil.copy(other.path / "model.keras", version_copy / "model.keras")
    meta = json.loads((version_copy / "metadata.json").read_text())
    meta["model_sha256"] = other.metadata.model_sha256
    (version_copy / "metadata.json").write_text(json.dumps(meta))
    version = open_version(version_copy)
    table = ensure_cube_table(version)
    np.testing.assert_array_equal(table, ensure_cube_table(other))


@pytest.mark.parametrize("lr", ["inf", "nan"])
def test_non_finite_hyper_parameters_are_refused(lr):
    with pytest.raises(FontpipeError, match="learning_rate"):
        parse_train_config(learning_rate=float(lr))


def test_a_diverging_run_stops_with_a_clear_error_and_saves_nothing(tmp_path):
    dataset, _ = write_dataset(GenerateConfig(rows=4_000, seed=1), tmp_path / "ds")
    config = TrainConfig(
        epochs=2, learning_rate=1e30, schedule="constant", inputs=InputConfig(batch_size=64)
    )
    with pytest.raises(FontpipeError, match="training diverged"):
        train_version(dataset, config, tmp_path / "models")
    assert [p.name for p in (tmp_path / "models").iterdir()] == [".checkpoints"]
    assert not any((tmp_path / "models" / ".checkpoints").iterdir())


def test_promotion_refuses_non_finite_metrics():
    good = Headline(
        accuracy=1.0, errors=0, boundary_accuracy=1.0, ece=0.0, aa_share=0.8, min_contrast=1.5
    )
    nan = good.model_copy(update={"ece": float("nan")})
    decision = decide_promotion(nan, None, PromotionPolicy())
    assert not decision.promote and "NaN" in decision.reason


def test_promote_by_hand_refuses_a_version_with_nan_metrics(version_copy):
    meta = json.loads((version_copy / "metadata.json").read_text())
    meta["metrics"]["test"]["loss"] = float("nan")
    (version_copy / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(FontpipeError, match="NaN or infinite"):
        promote(version_copy.parent, version_copy.name)


@pytest.mark.parametrize("damage", ["empty record", "empty weights", "foreign format"])
def test_an_unreadable_checkpoint_is_set_aside_and_training_starts_fresh(
    tiny_version, tmp_path, caplog, damage
):
    from fontpipe.data.datasets import open_dataset

    dataset = open_dataset(tiny_version.parent.parent / "ds")
    config = TrainConfig(epochs=2, inputs=InputConfig(batch_size=256), device="cpu")
    models = tmp_path / "models"
    backup = checkpoint_dir(models, config.run_key(dataset.fingerprint))
    backup.mkdir(parents=True)
    if damage == "empty record":
        (backup / RECORD_FILE).write_bytes(b"")  # a kill or a full disk during the write
    elif damage == "empty weights":
        (backup / "epoch-0001.weights.h5").write_bytes(b"")
        (backup / RECORD_FILE).write_text(
            json.dumps(
                {
                    "format": "fontpipe-checkpoint/1",
                    "epoch": 1,
                    "weights": "epoch-0001.weights.h5",
                    "weights_sha256": "0" * 64,
                    "history": [],
                    "train_seconds": 1.0,
                }
            )
        )
    else:
        (backup / "latest.weights.h5").write_bytes(b"")  # Keras' own format, 0 bytes
    with caplog.at_level("WARNING", logger="fontpipe"):
        version = train_version(dataset, config, models)
    assert [int(r["epoch"]) for r in read_history(version)] == [1, 2]
    assert "set aside" in caplog.text
    assert [p.name for p in (models / ".checkpoints").iterdir() if "unreadable" in p.name]
