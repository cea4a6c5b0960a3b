"""Local caches of what was read from a store or received with a task (model versions, datasets,
a store registry's pointers): folders under the system's temporary directory, never the data
directory or home, private to the user, each entry written by one process at a time."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from fontpipe.errors import FontpipeError


def user_cache_dir(kind: str) -> Path:
    """This user's cache of `kind` ("versions", "datasets"); it may not exist yet."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"fontpipe-{kind}-{uid}"


def private_cache(kind: str) -> Path:
    """The cache of `kind`, made if missing (readable by this user only); refused when another
    user owns a folder of that name, which could hold anything."""
    cache = user_cache_dir(kind)
    cache.mkdir(mode=0o700, exist_ok=True)
    if hasattr(os, "getuid") and cache.stat().st_uid != os.getuid():
        raise FontpipeError(f"{cache}: this cache belongs to another user")
    return cache


def entry_lock(path: Path) -> Any:
    """The lock one process holds while it writes the cache entry `path` (two Dask workers on a
    machine receive the same model at once)."""
    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path.parent / f".{path.name}.lock"))
