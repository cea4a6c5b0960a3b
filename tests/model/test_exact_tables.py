"""The channel-table model, fitted by Newton's method on the `cube` dataset, is exact on the
whole 24-bit cube for every rule: zero errors, at any distance from the boundary."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fontpipe.color.cube import compute_cube_table
from fontpipe.color.rules import get_rule
from fontpipe.data.datasets import read_split_arrays, write_dataset
from fontpipe.data.generation import GenerateConfig
from fontpipe.errors import FontpipeError
from fontpipe.evaluation.metrics import evaluate_cube
from fontpipe.model import ModelConfig
from fontpipe.registry.versions import load_version, read_history
from fontpipe.schema import CUBE_SIZE
from fontpipe.training.config import TrainConfig
from fontpipe.training.table_fit import gather_cube_targets
from fontpipe.training.train import train_version

TABLES = TrainConfig(model=ModelConfig(architecture="channel-tables"), device="cpu")


def test_cube_sampling_trains_on_every_colour_once(tmp_path):
    dataset, _ = write_dataset(
        GenerateConfig(rows=2_000, sampling="cube", rule="wcag", seed=1), tmp_path / "cube"
    )
    assert dataset.split_rows("train") == CUBE_SIZE
    assert dataset.split_rows("val") == dataset.split_rows("test") == 200
    targets = gather_cube_targets(iter([read_split_arrays(dataset, "train")]))
    assert targets.weight.min() == targets.weight.max() == 1.0  # each colour exactly once
    rgb = np.array([[0, 255, 126], [255, 255, 255], [0, 0, 0]], dtype=np.uint8)
    labels = get_rule("wcag").label(rgb)
    assert [targets.target[tuple(c)] for c in rgb] == list(labels.astype(float))


def test_disagreeing_rows_make_a_soft_target_and_fractional_colours_are_refused():
    rgb = np.array([[10, 20, 30], [10, 20, 30], [10, 20, 30], [1, 2, 3]], dtype=np.float32)
    targets = gather_cube_targets(iter([(rgb, np.array([1, 1, 0, 0]))]))
    assert targets.weight[10, 20, 30] == 3 and targets.target[10, 20, 30] == pytest.approx(2 / 3)
    assert targets.weight[1, 2, 3] == 1 and targets.target[1, 2, 3] == 0
    with pytest.raises(FontpipeError, match="integer colours"):
        gather_cube_targets(iter([(np.array([[0.5, 1, 2]], np.float32), np.array([1]))]))


@pytest.mark.slow
@pytest.mark.parametrize("rule", ["wcag", "yiq", "apca", "readable"])
def test_channel_tables_are_exact_on_the_whole_cube(rule, exact_model):
    version = exact_model(rule)
    loaded = load_version(version.path)  # the custom layer loads from the saved file
    evaluation = evaluate_cube(compute_cube_table(loaded.model), get_rule(rule))
    assert evaluation.errors == 0
    assert all(band.errors == 0 for band in evaluation.bands)
    history = read_history(version)
    assert history[-1]["val_accuracy"] == 1.0 and history[0]["loss"] > history[-1]["loss"]
    assert version.metadata.metrics["test"]["accuracy"] == 1.0
    # Off the integer grid the tables interpolate: still a sensible answer for float input.
    p = loaded.model.predict(np.array([[127.5, 127.5, 127.5]], np.float32), verbose=0)
    assert np.all(np.isfinite(p))


def test_a_channel_tables_model_loads_in_a_fresh_process(tmp_path):
    dataset, _ = write_dataset(
        GenerateConfig(rows=2_000, sampling="uniform-int", rule="mean", seed=2), tmp_path / "ds"
    )
    config = TABLES.model_copy(update={"max_newton_steps": 3})
    version = train_version(dataset, config, tmp_path / "models")
    script = textwrap.dedent(
        f"""
        from fontpipe.registry.versions import load_version
        import numpy as np
        model = load_version({str(version.path)!r}).model
        print(model.predict(np.array([[0, 0, 0]], np.float32), verbose=0).shape)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("(1, 2)")
