"""Process faults, made for real: kill -9 through subprocess, a full disk through a small tmpfs
(Linux, as root; skipped with the reason elsewhere)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from fontpipe.registry.champions import champion, promote, promotion_history, rollback

FONTPIPE = str(Path(sys.executable).with_name("fontpipe"))


def run_fontpipe(*args, cwd=None, env=None):
    done = subprocess.run(
        [FONTPIPE, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )
    return done.returncode, done.stdout + done.stderr


def staging_left(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if ".tmp-" in p.name)


def test_generate_killed_mid_write_leaves_staging_that_the_next_run_removes(tmp_path):
    out = tmp_path / "datasets" / "big"
    process = subprocess.Popen(
        [FONTPIPE, "generate", "--rows", "60000000", "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(out.parent.glob(".big.tmp-*/split=*/*")):
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert staging_left(tmp_path), "the kill should have left a half-written staging directory"
    assert not out.exists()
    code, output = run_fontpipe("generate", "--rows", "2000", "--out", out)
    assert code == 0, output
    assert staging_left(tmp_path) == [] and (out / "manifest.json").exists()


REGISTRY_CRASH = """
import os, signal, sys
from pathlib import Path
import fontpipe.registry.champions as registry

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)  # after the log entry, before the pointer

registry.write_json_atomic = die
registry.promote(Path(sys.argv[1]), sys.argv[2])
"""


def test_a_kill_between_the_log_and_the_pointer_leaves_a_consistent_registry(
    tiny_version, tmp_path
):
    models = tmp_path / "models"
    first, second = "20260101-000000-000001", "20260102-000000-000002"
    for name in (first, second):
        shutil.copytree(tiny_version, models / name)
        meta = (models / name / "metadata.json").read_text()
        (models / name / "metadata.json").write_text(meta.replace(tiny_version.name, name))
    promote(models, first)
    script = tmp_path / "crash.py"
    script.write_text(textwrap.dedent(REGISTRY_CRASH))
    done = subprocess.run([sys.executable, str(script), str(models), second], timeout=120)
    assert done.returncode == -signal.SIGKILL
    # The pointer file still names the first version; the log, the source of truth, the second.
    assert first in (models / "champion-mean").read_text()
    assert champion(models) == second
    rollback(models)
    assert champion(models) == first
    assert [h["to"] for h in promotion_history(models)] == [first, second, first]


@pytest.fixture
def small_disk(tmp_path):
    """A 6 MiB tmpfs mounted for the test; skipped where mounting is not allowed."""
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("a full disk is made with a tmpfs mount, which needs Linux and root")
    mount = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave_bytes: int) -> None:
    """Fill the disk up to `leave_bytes` of free space."""
    free = shutil.disk_usage(disk).free
    with contextlib.suppress(OSError), (disk / "filler").open("wb") as handle:
        handle.write(b"\0" * max(free - leave_bytes, 0))


def assert_one_line_disk_full(code, output, disk):
    assert code == 2, output
    assert "no space left on device while writing" in output, output
    assert "Traceback" not in output
    assert staging_left(disk) == []


def test_generate_on_a_full_disk(small_disk):
    code, output = run_fontpipe(
        "generate", "--rows", "3000000", "--out", small_disk / "ds", "--no-space-check"
    )
    assert_one_line_disk_full(code, output, small_disk)
    assert not (small_disk / "ds").exists()


def test_generate_refuses_a_dataset_that_cannot_fit(small_disk):
    code, output = run_fontpipe("generate", "--rows", str(10**12), "--out", small_disk / "ds")
    assert code == 2 and "needs about" in output and "--no-space-check" in output, output
    assert list(small_disk.iterdir()) == []


def test_score_on_a_full_disk(tiny_version, small_disk, tmp_path):
    source = tmp_path / "palette.csv"
    source.write_text("color\n" + "#336699\n" * 400_000)
    code, output = run_fontpipe(
        "score", source, "--out", small_disk / "scored.csv", "--model", tiny_version
    )
    assert_one_line_disk_full(code, output, small_disk)
    assert not (small_disk / "scored.csv").exists()


def test_evaluate_on_a_full_disk_writes_neither_file(tiny_version, small_disk, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(tiny_version, models / tiny_version.name)
    report = small_disk / "report" / "report.html"
    report.parent.mkdir()
    fill(small_disk, 200_000)  # the metrics fit, the report with its figures does not
    code, output = run_fontpipe(
        "evaluate", "--model", models / tiny_version.name, "--report", report, "--no-baseline"
    )
    assert_one_line_disk_full(code, output, small_disk)
    assert list(report.parent.iterdir()) == []  # no metrics.json without report.html


def test_train_on_a_full_disk_saves_no_version(tiny_version, small_disk):
    dataset = tiny_version.parent.parent / "ds"
    fill(small_disk, 20_000)
    code, output = run_fontpipe(
        "train", "--dataset", dataset, "--epochs", "1", "--models-dir", small_disk / "models"
    )
    assert_one_line_disk_full(code, output, small_disk)
    versions = [p for p in (small_disk / "models").glob("*") if not p.name.startswith(".")]
    assert versions == []
