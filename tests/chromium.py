"""Headless Chromium for the tests that check a page or a colour in a real browser."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

# No network, nothing reached for.
HEADLESS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_or_skip() -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no Chromium installed (.ci/run installs it)")
    return browser


def dump_dom(page: Path, profile: Path, budget_ms: int = 20_000) -> str:
    """The DOM of `page` after its scripts ran, as Chromium serialises it."""
    done = subprocess.run(
        [
            chromium_or_skip(),
            *HEADLESS,
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={budget_ms}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
