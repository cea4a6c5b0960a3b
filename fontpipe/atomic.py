"""Atomic writes: build beside the target, then rename, so no reader ever sees half a result."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fontpipe.errors import FontpipeError


def is_disk_full(exc: BaseException) -> bool:
    """ENOSPC, from the OS or wrapped by a library (Arrow, HDF5) that keeps only its message."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    return "No space left on device" in str(exc) or "errno = 28" in str(exc)


def disk_full_error(target: Path) -> FontpipeError:
    return FontpipeError(f"no space left on device while writing {target}")


def staging_path(target: Path) -> Path:
    # Same directory as the target, so the final rename never crosses a file system. The leading
    # dot keeps listings (and `fontpipe models list`) from showing staging directories.
    return target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:12]}"


@contextlib.contextmanager
def atomic_directory(target: Path, *, replace: bool = False) -> Iterator[Path]:
    """Yield an empty staging directory that becomes `target` only if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_path(target)
    staging.mkdir()
    try:
        yield staging
        if target.exists():
            if not replace:
                raise FileExistsError(f"{target} appeared while it was being written")
            retired = staging_path(target)
            target.rename(retired)
            staging.rename(target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            staging.rename(target)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if is_disk_full(exc):
            raise disk_full_error(target) from None
        raise


@contextlib.contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """Yield a staging file path that replaces `target` (os.replace) only if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_path(target)
    try:
        yield staging
        os.replace(staging, target)
    except BaseException as exc:
        staging.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise disk_full_error(target) from None
        raise


def write_text_atomic(target: Path, text: str) -> None:
    with atomic_file(target) as staging:
        staging.write_text(text, encoding="utf-8")


def write_json_atomic(target: Path, payload: Any) -> None:
    write_text_atomic(target, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def write_files_atomic(
    contents: dict[Path, str] | dict[Path, bytes] | dict[Path, str | bytes],
) -> None:
    """Several text files that belong together: all are staged first, then renamed into place,
    so a failure while writing (a full disk) leaves none of them new."""
    staged: dict[Path, Path] = {}
    try:
        for target, text in contents.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            staged[target] = staging_path(target)
            if isinstance(text, bytes):
                staged[target].write_bytes(text)
            else:
                staged[target].write_text(text, encoding="utf-8")
    except BaseException as exc:
        for staging in staged.values():
            staging.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise disk_full_error(next(iter(contents))) from None
        raise
    for target, staging in staged.items():
        os.replace(staging, target)
