"""Memory reuse in a Dask worker that scores.

Dask's nanny starts each worker with `MALLOC_TRIM_THRESHOLD_=65536`, so that freed memory goes
back to the system quickly. Setting it also pins glibc's mmap threshold at its 128 KiB minimum,
and a score batch allocates dozens of arrays of a few MB: each is then mapped, faulted in page
by page and unmapped again, batch after batch. Measured on 10 M rows with two workers on two
cores: twice the system time of a local run, and the job 1.4x slower than with the workers'
defaults (docs/scale.md). A worker process that receives a score part keeps freed memory for its
next batch instead (`keep_freed_memory`); its heap then holds a few tens of MB between batches.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading

# glibc's mallopt parameters (malloc.h) and the largest mmap threshold it accepts on 64-bit.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_MAX = 32 << 20
_TRIM_THRESHOLD = 64 << 20

_done = threading.Lock()
_applied: list[bool] = []


def keep_freed_memory() -> bool:
    """Where the process was started with MALLOC_TRIM_THRESHOLD_ (a Dask nanny's worker) and runs
    on glibc: arrays up to 32 MiB come from the heap and freed memory stays for reuse. Once per
    process; True when applied."""
    with _done:
        if not _applied:
            _applied.append(_apply())
        return _applied[0]


def _apply() -> bool:
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(
        mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)
        and mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    )
