"""The production topology of deploy/docker-compose.yml, without the containers: PostgreSQL, a
real `prefect server start` on it, `prefect deploy` of deploy/prefect.yaml and a process worker.
Both the retrain and the score-palettes deployments must reach COMPLETED through the worker.

What it starts, all on 127.0.0.1 and in this test's temporary directory, and stops again:
a PostgreSQL cluster (initdb + pg_ctl), a Prefect server, a Prefect process worker.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TINY_RETRAIN = {
    "generate": {"rows": 4000, "sampling": "boundary", "seed": 3},
    "train": {"epochs": 1, "inputs": {"batch_size": 128}, "device": "cpu"},
    "baseline": False,
    "rules": ["mean"],
}

pytestmark = [pytest.mark.server, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _postgres_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _as_postgres_user(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI runs as root, with the packaged `postgres` user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _healthy(api: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def postgres(tmp_path):
    """A throwaway PostgreSQL cluster on 127.0.0.1; yields its asyncpg URL, stops it after."""
    initdb, pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL is not installed here (.ci/run installs the postgresql package)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as its own user")
    # Outside pytest's own temporary tree, whose 0700 directories the postgres user cannot enter.
    home = Path(tempfile.mkdtemp(prefix="fontpipe-pg-"))
    data, sockets = home / "data", home / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        home.chmod(0o755)
        shutil.chown(home, "postgres")
        shutil.chown(sockets, "postgres")
    subprocess.run(
        _as_postgres_user([initdb, "-D", str(data), "-U", "fontpipe", "--auth=trust"]),
        check=True,
        capture_output=True,
    )
    port = _free_port()
    options = f"-p {port} -h 127.0.0.1 -k {sockets}"
    subprocess.run(
        _as_postgres_user(
            [pg_ctl, "-D", str(data), "-o", options, "-l", str(home / "log"), "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+asyncpg://fontpipe@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres_user([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]),
            capture_output=True,
        )
        status = subprocess.run(
            _as_postgres_user([pg_ctl, "-D", str(data), "status"]), capture_output=True
        )
        shutil.rmtree(home, ignore_errors=True)
        assert status.returncode == 3, "PostgreSQL is still running after the test"  # 3: stopped


def _start(command: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT):
    return subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


RUN = """
import json, sys
from prefect.deployments import run_deployment
run = run_deployment(sys.argv[1], parameters=json.loads(sys.argv[2]), timeout=420, poll_interval=2)
print(json.dumps({"state": run.state.type.value, "message": run.state.message}))
"""


def test_retrain_and_score_reach_completed_through_a_worker(postgres, tmp_path):
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    data = tmp_path / "data"
    logs = tmp_path / "logs"
    logs.mkdir()
    env = {
        **os.environ,
        # The worker runs each flow with the `python` on its PATH: this project's environment.
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_DATABASE_CONNECTION_URL": postgres,
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        "FONTPIPE_HOME": str(ROOT),
        "FONTPIPE_DATA": str(data),
    }
    prefect = str(BIN / "prefect")
    started: list[subprocess.Popen] = []
    try:
        server = _start(
            [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env,
            logs / "server.log",
        )
        started.append(server)
        _wait(lambda: _healthy(api), 180, "the Prefect server on PostgreSQL")
        for command in (
            [prefect, "work-pool", "create", "fontpipe-process", "--type", "process"],
            [prefect, "--no-prompt", "deploy", "--all", "--prefect-file", "deploy/prefect.yaml"],
        ):
            done = subprocess.run(
                command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=180
            )
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        worker = _start(
            [prefect, "worker", "start", "--pool", "fontpipe-process", "--type", "process"],
            env,
            logs / "worker.log",
            cwd=tmp_path,
        )
        started.append(worker)

        def run(deployment: str, parameters: dict) -> dict:
            done = subprocess.run(
                [sys.executable, "-c", RUN, deployment, json.dumps(parameters)],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert done.returncode == 0, done.stderr[-3000:]
            return json.loads(done.stdout.strip().splitlines()[-1])

        retrained = run("retrain/retrain", TINY_RETRAIN)
        assert retrained["state"] == "COMPLETED", (
            retrained,
            (logs / "worker.log").read_text()[-4000:],
        )
        champion = json.loads((data / "models" / "champion-mean").read_text())["version"]
        palette = tmp_path / "palette.csv"
        palette.write_text("color\n#ffffff\n#000000\n#336699\n")
        scored = run(
            "score_palettes/score-palettes",
            {
                "inputs": [str(palette)],
                "out": str(tmp_path / "scored.csv"),
                "model": "champion",
                "rule": "mean",
            },
        )
        assert scored["state"] == "COMPLETED", (scored, (logs / "worker.log").read_text()[-4000:])
        lines = (tmp_path / "scored.csv").read_text().splitlines()
        assert len(lines) == 4 and champion in lines[1]

        # `fontpipe serve` against the same server stops on Ctrl-C within seconds, calmly.
        serve_log = logs / "serve.log"
        serve = _start([str(BIN / "fontpipe"), "serve"], env, serve_log, cwd=tmp_path)
        started.append(serve)
        _wait(lambda: "serv" in serve_log.read_text().lower(), 120, "fontpipe serve to start")
        time.sleep(2)
        os.killpg(serve.pid, signal.SIGINT)
        stopping = time.monotonic()
        serve.wait(30)
        assert time.monotonic() - stopping < 10, "serve took too long to stop on Ctrl-C"
        assert "Traceback" not in serve_log.read_text(), serve_log.read_text()[-3000:]
    finally:
        for process in reversed(started):
            _stop(process)
    assert all(process.poll() is not None for process in started)
