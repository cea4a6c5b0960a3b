"""A Dask worker that scores keeps freed memory for its next batch: applied exactly where the
process was started with MALLOC_TRIM_THRESHOLD_ (as Dask's nanny starts workers), once."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = (
    "from fontpipe.scoring.allocator import keep_freed_memory; "
    "print(keep_freed_memory(), keep_freed_memory())"
)


def probe(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env={**clean, **env}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_applied_in_a_worker_started_as_dasks_nanny_starts_it():
    assert probe(MALLOC_TRIM_THRESHOLD_="65536") == "True True"


def test_left_alone_elsewhere():
    assert probe() == "False False"
