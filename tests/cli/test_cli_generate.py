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


def test_a_failed_generate_leaves_no_lock_or_staging(tmp_path, private_tmp):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("not a dataset")
    result = runner.invoke(app, ["generate", "--rows", "1000", "--out", str(out)])
    assert result.exit_code == 2 and "already there" in result.output
    too_big = runner.invoke(app, ["generate", "--rows", "10_000_000_000", "--out", str(out)])
    assert too_big.exit_code == 2, too_big.output
    assert list(private_tmp.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "tmp"]
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_a_terminated_generate_unwinds_and_leaves_nothing(tmp_path):
    """SIGTERM (`timeout`, a cancelled run, `docker stop`) mid-write: exit 143, and no staging
    folder, no lock file and no dataset left."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    private = tmp_path / "tmp"
    private.mkdir()
    out = tmp_path / "ds"
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("fontpipe")),
            "generate",
            "--rows",
            "60_000_000",
            "--rows-per-file",
            "500_000",
            "--out",
            str(out),
        ],
        env={**os.environ, "TMPDIR": str(private)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".ds.tmp-*/split=train/part-*")) and time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        time.sleep(0.05)
    assert list(private.iterdir()), "the lock is held while writing"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"]
    assert list(private.iterdir()) == []


def test_rows_with_cube_sampling_is_refused_in_one_line(tmp_path):
    out = tmp_path / "ds"
    result = runner.invoke(
        app, ["generate", "--sampling", "cube", "--rows", "200000", "--out", str(out)]
    )
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "--rows" in result.output
    assert "whole cube" in result.output
    assert not out.exists()


def test_defaults_written_once_agree_with_the_library():
    from cli.pipeline import DEFAULT_ROWS
    from fontpipe.data.generation import GenerateConfig

    assert GenerateConfig.model_fields["rows"].default == DEFAULT_ROWS


def test_cube_progress_counts_what_is_written_in_whole_lines(tmp_path):
    """Piped stderr at 40 columns (a log file): the bar's last state is one whole line, and its
    total is the cube, not the --rows default."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    fontpipe = str(Path(sys.executable).with_name("fontpipe"))
    done = subprocess.run(
        [fontpipe, "generate", "--sampling", "cube", "--out", str(tmp_path / "cube")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "40"},
    )
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("generate")]
    assert "16777216/16777216" in line and "100%" in line and "…" not in line
    manifest = json.loads((tmp_path / "cube" / "manifest.json").read_text())
    assert manifest["splits"]["train"]["rows"] == 16_777_216
