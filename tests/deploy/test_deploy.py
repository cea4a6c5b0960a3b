"""Deployments against a real `prefect server start` on 127.0.0.1, served by `deploy/serve.py`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from flows.deployments import DEFAULT_RETRAIN_CRON

ROOT = Path(__file__).resolve().parents[2]
TINY_RETRAIN = {
    "generate": {"rows": 4000, "sampling": "boundary", "seed": 3},
    "train": {"epochs": 1, "inputs": {"batch_size": 128}, "device": "cpu"},
    "baseline": False,
    "rules": ["mean"],
}


def test_prefect_yaml_declares_the_three_deployments():
    spec = yaml.safe_load((ROOT / "deploy" / "prefect.yaml").read_text())
    deployments = {d["name"]: d for d in spec["deployments"]}
    assert set(deployments) == {"retrain", "score-palettes", "evaluate"}
    assert deployments["retrain"]["schedules"][0]["cron"] == DEFAULT_RETRAIN_CRON
    assert "schedules" not in deployments["score-palettes"]
    for deployment in deployments.values():
        module, function = deployment["entrypoint"].split(":")
        assert (ROOT / module).exists()
        assert f"def {function}(" in (ROOT / module).read_text()
        assert deployment["work_pool"]["name"] == "fontpipe-process"


def test_docker_compose_file():
    from importlib.metadata import version

    spec = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    services = spec["services"]
    assert {"postgres", "prefect-server", "worker"} <= set(services)
    # The server image is the Prefect release this project resolves, not a moving tag.
    assert services["prefect-server"]["image"].startswith(
        f"prefecthq/prefect:{version('prefect')}-"
    )
    assert "healthcheck" in services["prefect-server"] and "healthcheck" in services["postgres"]
    assert services["worker"]["depends_on"]["prefect-server"]["condition"] == "service_healthy"
    assert all(service.get("restart") == "unless-stopped" for service in services.values())
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "USER fontpipe" in dockerfile  # flows never run as root in the image
    # Every package the project installs is copied into the image.
    for package in ("fontpipe", "flows", "cli"):
        assert f"COPY {package} ./{package}" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv/", "data/", ".git/"} <= set(ignored)
    assert (
        "postgresql"
        in services["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    )
    assert services["worker"]["build"]["dockerfile"] == "deploy/Dockerfile"


def test_docker_compose_config_validates():
    docker = shutil.which("docker")
    if (
        docker is None
        or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0
    ):
        pytest.skip("docker compose is not available to validate the file")
    checker = subprocess.run(
        [docker, "compose", "version", "--short"], capture_output=True, text=True
    ).stdout.strip()
    print(f"validated with docker compose {checker}")
    done = subprocess.run(
        [docker, "compose", "-f", str(ROOT / "deploy" / "docker-compose.yml"), "config", "--quiet"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def _stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.server
@pytest.mark.slow
def test_real_server_schedules_and_runs_retrain(tmp_path):
    import httpx

    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
        "FONTPIPE_DATA": str(tmp_path / "data"),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=(logs / "server.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    served = None
    try:
        _wait(lambda: _healthy(httpx, api), 120, "the Prefect server")
        served = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "deploy" / "serve.py"),
                "--cron",
                DEFAULT_RETRAIN_CRON,
                "--parameters",
                json.dumps(TINY_RETRAIN),
            ],
            cwd=ROOT,
            env=env,
            stdout=(logs / "serve.log").open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        client_code = _CLIENT.format(api=api, parameters=json.dumps(TINY_RETRAIN))
        done = subprocess.run(
            [sys.executable, "-c", client_code],
            env=env,
            capture_output=True,
            text=True,
            timeout=420,
        )
        assert done.returncode == 0, (
            done.stdout[-3000:] + done.stderr[-3000:] + (logs / "serve.log").read_text()[-3000:]
        )
        report = json.loads(done.stdout.strip().splitlines()[-1])
        assert report["cron"] == DEFAULT_RETRAIN_CRON
        assert report["upcoming"] >= 1
        assert report["final_state"] == "COMPLETED"
        assert (
            "SignatureMismatchError" in report["bad_parameter_error"]
            and "no_such_parameter" in report["bad_parameter_error"]
        )
        assert report["champion_untouched"]
        assert (tmp_path / "data" / "models" / "champion-mean").exists()
    finally:
        if served is not None:
            _stop(served)
        _stop(server)


def _healthy(httpx, api):
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


# Runs in its own process, against the real server named by PREFECT_API_URL.
_CLIENT = """
import json, os, time
from pathlib import Path
from prefect import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId, FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
from prefect.client.schemas.objects import StateType
from prefect.deployments import run_deployment

with get_client(sync_client=True) as client:
    deadline = time.monotonic() + 120
    while True:
        try:
            deployment = client.read_deployment_by_name("retrain/retrain")
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    cron = deployment.schedules[0].schedule.cron
    scheduled = []
    while time.monotonic() < deadline and not scheduled:
        scheduled = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))),
        )
        time.sleep(1)

run = run_deployment("retrain/retrain", timeout=360, poll_interval=2)
champion_file = Path(os.environ["FONTPIPE_DATA"]) / "models" / "champion-mean"
champion_before = champion_file.read_bytes() if champion_file.exists() else b""

# A mistyped parameter: the run must not go ahead with defaults, and must say why.
refused = run_deployment("retrain/retrain", parameters={{"no_such_parameter": 1}}, timeout=120, poll_interval=2)
with get_client(sync_client=True) as client:
    logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[refused.id])))
why = [log.message for log in logs if "no_such_parameter" in log.message]
bad = f"{{refused.state.type.value}}: {{why[0] if why else ''}}" if refused.state.type != StateType.COMPLETED else ""
champion_untouched = champion_file.read_bytes() == champion_before
print(json.dumps({{"cron": cron, "upcoming": len(scheduled), "final_state": run.state.type.value, "bad_parameter_error": bad, "champion_untouched": champion_untouched}}))
"""
