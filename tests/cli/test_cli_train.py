from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli.app import app
from fontpipe.data.datasets import write_dataset
from fontpipe.data.generation import GenerateConfig

runner = CliRunner()


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("ds") / "d"
    write_dataset(GenerateConfig(rows=6_000, seed=2), path)
    return path


def test_train_cli_saves_a_version_and_summarises(dataset_dir, tmp_path):
    models = tmp_path / "models"
    result = runner.invoke(
        app,
        [
            "train",
            "--dataset",
            str(dataset_dir),
            "--epochs",
            "1",
            "--models-dir",
            str(models),
            "--batch-size",
            "128",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "saved model version" in result.output and "test" in result.output
    assert len([p for p in models.iterdir() if not p.name.startswith(".")]) == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--hidden", "10,0,5"], "positive width"),
        (["--lr", "-0.1"], "learning_rate"),
        (["--epochs", "0"], "epochs"),
        (["--hidden", "ten"], "--hidden"),
        (["--schedule", "zigzag"], "--schedule"),
    ],
)
def test_invalid_config_exits_2_and_saves_nothing(dataset_dir, tmp_path, args, message):
    models = tmp_path / "models"
    result = runner.invoke(
        app, ["train", "--dataset", str(dataset_dir), "--models-dir", str(models), *args]
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not models.exists()


def test_missing_dataset_exits_2(tmp_path):
    result = runner.invoke(
        app, ["train", "--dataset", str(tmp_path / "nope"), "--models-dir", str(tmp_path / "m")]
    )
    assert result.exit_code == 2 and "no such dataset" in result.output
    assert not (tmp_path / "m").exists()
