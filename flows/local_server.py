"""Prefect's local API server for one command, tied to the command's process.

Prefect's own ephemeral server is a child process that outlives its parent when the parent is
killed (SIGKILL cannot be caught): a killed `fontpipe retrain` left it running, re-parented to
PID 1, still using CPU. Here the same server (the same uvicorn app, no UI) is started by us with
the kernel's parent-death signal set (Linux PR_SET_PDEATHSIG): when this process dies, however it
dies, the kernel kills the server too. Elsewhere Prefect's own ephemeral server is used as before.

This module imports nothing of Prefect: the API URL must be in the environment before Prefect
reads its settings, so `local_api_server()` runs before any flow module is imported.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from fontpipe.errors import FontpipeError

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _die_with_parent() -> None:
    """Runs in the server's process between fork and exec."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(api: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def local_api_server() -> Iterator[str | None]:
    """With no PREFECT_API_URL set, run a local API server for the duration and point this
    process at it; yields the API URL (None when one was set already or this is not Linux)."""
    if os.environ.get("PREFECT_API_URL") or not sys.platform.startswith("linux"):
        yield None
        return
    spec = importlib.util.find_spec("prefect")
    assert spec is not None and spec.origin is not None
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    timeout = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180"))
    # A file, not a pipe: nobody reads the server's stderr while it runs, and a full pipe would
    # block it. It lives as long as the server does.
    errors = tempfile.TemporaryFile()  # noqa: SIM115
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(Path(spec.origin).parent.parent),
            "--factory",
            "prefect.server.api.server:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "error",
            "--lifespan",
            "on",
        ],
        # What Prefect sets for its own ephemeral server: no UI, ephemeral mode.
        env={
            **os.environ,
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
        },
        stdout=subprocess.DEVNULL,
        stderr=errors,
        preexec_fn=_die_with_parent,
    )
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(api):
            if server.poll() is not None:
                errors.seek(0)
                detail = errors.read().decode(errors="replace")[-500:]
                raise FontpipeError(f"the local Prefect API server did not start: {detail}")
            if time.monotonic() > deadline:
                raise FontpipeError(
                    f"the local Prefect API server did not answer within {timeout:.0f} s "
                    "(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS)"
                )
            time.sleep(0.2)
        os.environ["PREFECT_API_URL"] = api
        # This server serves no UI, so "View at http://..." lines would point nowhere.
        os.environ.setdefault("PREFECT_UI_URL", "")
        yield api
    finally:
        # Stopped at interpreter exit, not here: Prefect's log and event services drain to the
        # API from their own at-exit hooks, which run before atexit callbacks and would wait
        # forever on a server already gone.
        atexit.register(_stop, server)


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
