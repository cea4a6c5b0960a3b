"""The registry lock: one writer at a time, and who that writer is.

`.registry.lock` is an OS file lock (released by the kernel when its holder dies, even on
SIGKILL). While it is held, `.registry.lock.json` beside it says who holds it (pid, host, command,
since when), so a writer that has to wait can say whom it waits for, and a writer that gives up
names the holder instead of failing in silence.
"""

from __future__ import annotations

# filelock loads on first use: a look-up resolves champions but never takes the lock.
import contextlib
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fontpipe.atomic import write_json_atomic
from fontpipe.errors import FontpipeError
from fontpipe.registry.versions import refuse_store_registry

LOCK_FILE = ".registry.lock"
HOLDER_FILE = ".registry.lock.json"
# Promotions hold the lock for seconds (one evaluation of the champion at most); a minute is
# long enough to outwait a normal holder and short enough to notice a stuck one.
REGISTRY_LOCK_TIMEOUT = 60.0
REPORT_EVERY_S = 15.0  # how often a waiting writer says it is still waiting
logger = logging.getLogger("fontpipe")


@contextlib.contextmanager
def registry_lock(models_dir: Path, timeout: float = REGISTRY_LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the registry lock for the block; wait for it visibly, at most `timeout` seconds."""
    from filelock import FileLock

    refuse_store_registry(models_dir, "promote or change the registry")
    models_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(models_dir / LOCK_FILE))
    _acquire(lock, models_dir, timeout)
    holder = models_dir / HOLDER_FILE
    try:
        write_json_atomic(holder, _this_process())
        yield
    finally:
        holder.unlink(missing_ok=True)
        lock.release()


def _acquire(lock: Any, models_dir: Path, timeout: float) -> None:
    from filelock import Timeout

    started = time.monotonic()
    reported = -REPORT_EVERY_S
    while True:
        waited = time.monotonic() - started
        try:
            lock.acquire(timeout=max(0.0, min(1.0, timeout - waited)))
            return
        except Timeout:
            waited = time.monotonic() - started
            if waited >= timeout:
                raise FontpipeError(
                    f"{models_dir / LOCK_FILE}: the registry is still locked by "
                    f"{lock_holder(models_dir)} after {timeout:.0f} s; try again when it "
                    "finishes, or end that process if it is stuck"
                ) from None
            if waited - reported >= REPORT_EVERY_S:
                reported = waited
                logger.warning(
                    "%s: the registry is locked by %s; waiting (%.0f of %.0f s)",
                    models_dir / LOCK_FILE,
                    lock_holder(models_dir),
                    waited,
                    timeout,
                )


def _this_process() -> dict[str, Any]:
    command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "python"
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": command,
        "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def lock_holder(models_dir: Path) -> str:
    """Who holds the lock, in words, from the record its holder left beside it."""
    unknown = "another process (it left no record of itself)"
    try:
        record = json.loads((models_dir / HOLDER_FILE).read_text(encoding="utf-8"))
        pid, host = int(record["pid"]), str(record["host"])
        command, since = str(record["command"]), str(record["since"])
    except (OSError, ValueError, KeyError, TypeError):
        return unknown
    if host == socket.gethostname() and not _alive(pid):
        return unknown  # a record left by a holder that was killed; the lock went with it
    return f"pid {pid} on {host} (`{command}`, since {since})"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # somebody else's process
    return True
