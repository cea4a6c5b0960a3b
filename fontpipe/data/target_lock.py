"""Writers of one dataset directory take turns: a file lock keyed by the target's path."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def target_lock(out: Path) -> Iterator[None]:
    """Take turns with other writers of dataset `out`. The lock file (in the temporary directory,
    keyed by the target's absolute path) is removed before the lock is released: a waiter on it
    then finds it is no longer the file at that path and locks the new one, so no lock file is
    left behind and there is still one writer at a time."""
    import fcntl  # POSIX; imported here so that reading datasets never needs it

    key = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:24]
    path = Path(tempfile.gettempdir()) / f"fontpipe-dataset-{key}.lock"
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.path.samestat(os.fstat(fd), os.stat(path)):
                break
        except FileNotFoundError:
            pass  # removed by the writer before us: lock the file now at that path
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)
