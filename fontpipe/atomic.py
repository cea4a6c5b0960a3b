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


# Why a place cannot be written to: permissions, a read-only file system, a file where a folder
# should be. The user's to fix, so one line, not a traceback.
UNWRITABLE = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR})


def write_error(exc: BaseException, target: Path, *ours: Path) -> FontpipeError | None:
    """A one-line error for `exc` when it is a full disk, or a refusal to write `target`, its
    staging paths (`ours`) or a folder above it; None for anything else (say, an unreadable
    input opened inside the block), which keeps its own traceback."""
    if is_disk_full(exc):
        return disk_full_error(target)
    if not isinstance(exc, OSError) or exc.errno not in UNWRITABLE or exc.filename is None:
        return None
    failed = Path(os.fsdecode(exc.filename))
    if failed in (target, *ours, *target.parents) or any(p in failed.parents for p in ours):
        return FontpipeError(f"cannot write {target}: {(exc.strerror or str(exc)).lower()}")
    return None


def check_writable(target: Path) -> None:
    """Refuse, before any work, a target whose folder cannot be written (or made): a file is
    created and removed in the nearest folder that exists, which creates nothing else."""
    target = Path(target)
    existing = next(p for p in (target.parent, *target.parent.parents) if p.exists())
    if not existing.is_dir():
        raise FontpipeError(f"cannot write {target}: {existing} is not a directory")
    probe = staging_path(existing / target.name)
    try:
        os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        probe.unlink()
    except OSError as exc:
        raise FontpipeError(
            f"cannot write {target}: {(exc.strerror or str(exc)).lower()} ({existing})"
        ) from None


def staging_path(target: Path) -> Path:
    # Same directory as the target, so the final rename never crosses a file system. The leading
    # dot keeps listings (and `fontpipe models list`) from showing staging directories.
    return target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:12]}"


@contextlib.contextmanager
def atomic_directory(target: Path, *, replace: bool = False) -> Iterator[Path]:
    """Yield an empty staging directory that becomes `target` only if the block succeeds."""
    staging = staging_path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
    except OSError as exc:
        raise (write_error(exc, target, staging) or exc) from None
    try:
        yield staging
        if target.exists():
            if not replace:
                raise FileExistsError(f"{target} appeared while it was being written")
            retired = staging_path(target)
            target.rename(retired)
            staging.rename(target)
            _remove(retired)
        else:
            staging.rename(target)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        error = write_error(exc, target, staging)
        if error is not None:
            raise error from None
        raise


def _remove(path: Path) -> None:
    """A file or a folder, whichever was replaced: neither may stay behind as a `.tmp-*`."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """Yield a staging file path that replaces `target` (os.replace) only if the block succeeds."""
    staging = staging_path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        yield staging
        os.replace(staging, target)
    except BaseException as exc:
        staging.unlink(missing_ok=True)
        error = write_error(exc, target, staging)
        if error is not None:
            raise error from None
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
    target = next(iter(contents), Path())
    try:
        for target, text in contents.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            staged[target] = staging_path(target)
            if isinstance(text, bytes):
                staged[target].write_bytes(text)
            else:
                staged[target].write_text(text, encoding="utf-8")
        for target, staging in staged.items():
            os.replace(staging, target)
    except BaseException as exc:
        for staging in staged.values():
            staging.unlink(missing_ok=True)
        error = write_error(exc, target, *staged.values())
        if error is not None:
            raise error from None
        raise
