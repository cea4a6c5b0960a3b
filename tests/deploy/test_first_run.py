"""The first run on a fresh machine: the real entry point, a brand-new empty home, no harness."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_retrain_succeeds_first_time_with_an_empty_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    data = tmp_path / "data"
    # Only what a new user's shell has: no PREFECT_* or TF_* variables, no ~/.prefect, no caches.
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "FONTPIPE_DATA": str(data)}
    fontpipe = Path(sys.executable).with_name("fontpipe")
    # Two rules keep the test to a few minutes: the default answer's and the browser's; `make run`
    # (every rule) is rehearsed on a fresh clone before each release.
    done = subprocess.run(
        [str(fontpipe), "retrain", "--rule", "wcag", "--rule", "readable"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert "database is locked" not in output
    assert (home / ".prefect").is_dir()  # it really started from an empty Prefect home
    # Readable answers by default: the colour the mean rule got wrong reads black, and on
    # #2277d3, where both pass AA, white reads better; the browser's answer (wcag) is black.
    for colour, rule, text in [
        ("#00ff7e", None, "black"),
        ("#2277d3", None, "white"),
        ("#2277d3", "wcag", "black"),
    ]:
        answer = subprocess.run(
            [str(fontpipe), "predict", colour, "--json", *(["--rule", rule] if rule else [])],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert answer.returncode == 0, answer.stderr
        (prediction,) = json.loads(answer.stdout)["predictions"]
        assert prediction["text_color"] == text and prediction["wcag_aa"], (colour, rule)
    from fontpipe.registry.champions import champions

    # A champion for each rule retrained, and one line per rule with its figures.
    assert sorted(champions(data / "models")) == ["readable", "wcag"]
    for rule, version in champions(data / "models").items():
        assert (data / "models" / version / "model.keras").exists()
        (line,) = [row for row in done.stdout.splitlines() if row.startswith(f"{rule}: ")]
        # Learned from at most 1 % of the cube, measured on the colours it never saw, with no
        # error far from the boundary; the report is where the line says and says the same.
        metadata = json.loads((data / "models" / version / "metadata.json").read_text())
        assert metadata["fit"]["train_colours"] <= 16_777_216 // 100
        assert f"champion {version}: " in line and "colours it never saw, 0 far" in line
        report = Path(line.rsplit("; report ", 1)[1])
        metrics = json.loads((report.parent / "metrics.json").read_text())
        assert metrics["headline"]["scope"] == "held-out"
        unseen = metrics["headline"]["colours"]
        assert unseen == 16_777_216 - metrics["cube"]["seen_colours"] > 16_500_000
        assert f"the {unseen:,} colours of the cube this model never saw" in report.read_text()


def test_a_sigkilled_retrain_leaves_no_prefect_server_behind(tmp_path):
    import signal
    import time

    import psutil

    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "FONTPIPE_DATA": str(tmp_path / "data")}
    fontpipe = Path(sys.executable).with_name("fontpipe")
    retrain = subprocess.Popen(
        [str(fontpipe), "retrain"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        parent = psutil.Process(retrain.pid)
        deadline = time.monotonic() + 180
        servers = []
        while time.monotonic() < deadline and not servers:
            servers = [
                child
                for child in parent.children(recursive=True)
                if "prefect.server.api.server:create_app" in " ".join(child.cmdline())
            ]
            time.sleep(0.2)
        assert servers, "the retrain should have started its Prefect API server"
        retrain.send_signal(signal.SIGKILL)
        retrain.wait()
        _, alive = psutil.wait_procs(servers, timeout=5)
        assert alive == [], f"server processes outlived their parent: {alive}"
    finally:
        if retrain.poll() is None:
            retrain.kill()
