"""One job per output: a score job locks its output's staging directory from planning to its end,
so a second job on the same output stops at once, naming the first, instead of mixing its rows
into the first one's output; and nothing of the lock outlives the job."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pyarrow.csv as pacsv
import pytest

from fontpipe.errors import FontpipeError
from fontpipe.scoring.files import OutputLock, running_job
from fontpipe.scoring.job import score_files
from fontpipe.scoring.plan import ScoreConfig, parts_dir_for

FONTPIPE = str(Path(sys.executable).with_name("fontpipe"))


def _palette(path: Path, colours: list[str]) -> Path:
    path.write_text("color\n" + "".join(f"{c}\n" for c in colours))
    return path


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_second_job_on_the_same_output_stops_and_the_first_keeps_its_rows(tiny_version, tmp_path):
    first = _palette(tmp_path / "first.csv", ["#ffffff", "#000000", "#808080"])
    second = _palette(tmp_path / "second.csv", ["#ff0000"])
    out = tmp_path / "shared.csv"
    refused: list[str] = []

    def start_the_second(job, done):
        # The first job has planned and holds the lock; its parts are not scored yet.
        with pytest.raises(FontpipeError) as error:
            score_files([str(second)], out, tiny_version, ScoreConfig())
        refused.append(str(error.value))

    summary = score_files([str(first)], out, tiny_version, ScoreConfig(), on_plan=start_the_second)
    (message,) = refused
    assert message.startswith(f"{out}: another score job is writing this output")
    assert f"pid {os.getpid()} on {socket.gethostname()}" in message and "first.csv" in message
    assert "\n" not in message
    assert summary.read == 3
    written = pacsv.read_csv(out).column("color").to_pylist()
    assert written == ["#ffffff", "#000000", "#808080"]  # none of the second job's rows
    assert _names(tmp_path) == ["first.csv", "second.csv", "shared.csv"]  # no lock left


def test_the_losing_process_exits_2_with_one_line_and_touches_nothing(tiny_version, tmp_path):
    source = _palette(tmp_path / "in.csv", ["#ffffff"])
    out = tmp_path / "out.csv"
    held = OutputLock(parts_dir_for(out))
    held.acquire(out, {**running_job(), "inputs": ["running.csv"]})
    try:
        parts_dir_for(out).mkdir()
        (parts_dir_for(out) / "part-000000.csv").write_text("the running job's part\n")
        done = subprocess.run(
            [FONTPIPE, "score", str(source), "--out", str(out), "--model", str(tiny_version)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        output = (done.stdout + done.stderr).strip()
        assert done.returncode == 2, output
        assert "Traceback" not in output
        last = output.splitlines()[-1]
        assert "another score job is writing this output" in last
        assert f"pid {os.getpid()}" in last and "running.csv" in last
        # The running job's staging directory and lock are as they were.
        assert (parts_dir_for(out) / "part-000000.csv").read_text() == "the running job's part\n"
        assert json.loads(held.owner.read_text())["inputs"] == ["running.csv"]
        assert not out.exists()
    finally:
        held.release()
    assert not held.path.exists() and not held.owner.exists()


def test_the_lock_and_its_companion_go_when_a_job_ends_either_way(tiny_version, tmp_path):
    good = _palette(tmp_path / "good.csv", ["#ffffff"])
    score_files([str(good)], tmp_path / "a.csv", tiny_version, ScoreConfig())
    bad = _palette(tmp_path / "bad.csv", ["#ffffff", "#12345g"])
    with pytest.raises(FontpipeError, match="row 2"):
        score_files([str(bad)], tmp_path / "b.csv", tiny_version, ScoreConfig())
    with pytest.raises(FontpipeError, match="row 2"):
        score_files([str(bad)], tmp_path / "new" / "c.csv", tiny_version, ScoreConfig())
    assert _names(tmp_path) == ["a.csv", "bad.csv", "good.csv"]


def test_a_killed_jobs_lock_is_taken_over(tiny_version, tmp_path):
    source = _palette(tmp_path / "in.csv", ["#ffffff"])
    out = tmp_path / "out.csv"
    # What a job killed outright leaves: its lock file (the kernel dropped the lock itself) and
    # the companion naming it.
    left = OutputLock(parts_dir_for(out))
    left.path.write_text("")
    left.owner.write_text(json.dumps({"pid": 1, "host": "gone", "started": "yesterday"}))
    summary = score_files([str(source)], out, tiny_version, ScoreConfig())
    assert summary.scored == 1
    assert _names(tmp_path) == ["in.csv", "out.csv"]


def test_a_staging_directory_that_is_a_symlink_is_refused(tiny_version, tmp_path):
    source = _palette(tmp_path / "in.csv", ["#ffffff"])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("not the job's")
    out = tmp_path / "out.csv"
    parts_dir_for(out).symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(FontpipeError) as error:
        score_files([str(source)], out, tiny_version, ScoreConfig())
    message = str(error.value)
    assert message.startswith(str(parts_dir_for(out))) and "symbolic link" in message
    assert _names(elsewhere) == ["keep.txt"]
    assert _names(tmp_path) == [".out.csv.parts", "elsewhere", "in.csv"]  # the link, untouched
    assert parts_dir_for(out).is_symlink()


def test_job_json_records_what_the_job_is(tiny_version, tmp_path):
    source = _palette(tmp_path / "in.csv", ["#ffffff"])
    out = tmp_path / "out.csv"
    seen = {}

    def look(job, done):
        seen.update(json.loads(job.job_file.read_text()))

    config = ScoreConfig(on_error="quarantine")
    score_files([str(source)], out, tiny_version, config, on_plan=look)
    assert seen["inputs"] == [str(source)] and seen["model"] == tiny_version.name
    assert seen["options"]["on_error"] == "quarantine" and seen["pid"] == os.getpid()
    assert len(seen["fingerprint"]) == 20 and seen["parts"] == 1
