"""`fontpipe serve` refuses to pretend without a Prefect server."""

from __future__ import annotations


def test_serve_without_a_prefect_server_is_refused_with_the_commands(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    done = subprocess.run(
        [str(Path(sys.executable).with_name("fontpipe")), "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "prefect server start" in done.stderr and "PREFECT_API_URL" in done.stderr
    assert "being served" not in done.stdout + done.stderr
