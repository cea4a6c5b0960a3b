from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli.app import app

runner = CliRunner()


def test_generate_writes_and_summarises(tmp_path):
    out = tmp_path / "ds"
    result = runner.invoke(app, ["generate", "--rows", "5_000", "--seed", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "train" in result.output
    assert json.loads((out / "manifest.json").read_text())["rows"] == 5000
    again = runner.invoke(app, ["generate", "--rows", "5_000", "--seed", "3", "--out", str(out)])
    assert again.exit_code == 0 and "reused" in again.output


def test_generate_default_out_goes_under_data_root(data_root):
    result = runner.invoke(app, ["generate", "--rows", "1000"])
    assert result.exit_code == 0, result.output
    (dataset,) = (data_root / "datasets").iterdir()
    assert (dataset / "manifest.json").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--rows", "-5"], "rows"),
        (["--rule", "nope"], "'nope' is not one of"),
        (["--splits", "0.5,0.1,0.1"], "sum to 1"),
        (["--sampling", "gaussian"], "'gaussian' is not one of"),
    ],
)
def test_bad_arguments_exit_2_and_write_nothing(tmp_path, args, message):
    out = tmp_path / "ds"
    result = runner.invoke(app, ["generate", "--out", str(out), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_output_path_that_is_a_file_exits_2(tmp_path):
    target = tmp_path / "file"
    target.write_text("keep me")
    result = runner.invoke(app, ["generate", "--rows", "100", "--out", str(target)])
    assert result.exit_code == 2 and "is a file" in result.output
    assert target.read_text() == "keep me"
