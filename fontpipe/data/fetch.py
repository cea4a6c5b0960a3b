"""Datasets on a store (`s3://bucket/datasets/<name>`, any fsspec protocol), read, never written:
the manifest and the files it lists are copied into a local cache of datasets under the system's
temporary directory (never the data directory or home), where `open_dataset` checks them as it
checks any dataset. Writing a dataset to a store is not supported: a dataset must appear whole,
which a local directory gets from a rename and a store has none.
"""

from __future__ import annotations

# fontpipe.storage (pyarrow's filesystems) loads on first use: only a store needs it.
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from fontpipe.atomic import atomic_directory
from fontpipe.errors import FontpipeError
from fontpipe.schema import MANIFEST, SPLITS
from fontpipe.user_cache import entry_lock, private_cache

Opened = TypeVar("Opened")
# The local cache of datasets read from a store (fontpipe.user_cache).
DATASETS = "datasets"


def refuse_store_target(out: Path | str) -> None:
    """A dataset is written to a local directory only."""
    from fontpipe import storage

    url = storage.store_url(out)
    if url is not None:
        raise FontpipeError(
            f"{url}: datasets are written to a local directory only (one must appear whole, "
            "which a rename gives and a store lacks); write it here and copy the directory to "
            "the store, where --dataset reads it"
        )


def open_fetched(url: str, check: Callable[[Path], Opened]) -> Opened:
    """`check` (the dataset's own checks) of the local copy of the dataset at `url`; a cached
    copy that fails them (damaged on disk) is fetched once more before the dataset is refused,
    in words that name the store's files."""
    local = fetch_dataset(url)
    try:
        return check(local)
    except FontpipeError:
        local = fetch_dataset(url, refresh=True)
        try:
            return check(local)
        except FontpipeError as exc:
            raise FontpipeError(str(exc).replace(str(local), url)) from None


def fetch_dataset(url: str, *, refresh: bool = False) -> Path:
    """The local copy of the dataset at `url`: its manifest and every file the manifest lists,
    copied whole (manifest last) into a directory keyed by the URL and the manifest's bytes, so
    a dataset replaced on the store is fetched again. `refresh` drops a copy that failed its
    checks. The caller checks the copy's files against the manifest, as for a local dataset."""
    from fontpipe import storage

    url = storage.without_trailing_slash(url)
    try:
        raw = storage.read_bytes(storage.join(url, MANIFEST))
    except (FontpipeError, OSError):
        raise FontpipeError(f"{url}: no {MANIFEST} there; not a fontpipe dataset") from None
    files = _listed_files(raw, storage.join(url, MANIFEST))
    key = hashlib.sha256(url.encode() + b"\0" + raw).hexdigest()[:32]
    path = private_cache(DATASETS) / key
    with entry_lock(path):
        if refresh:
            shutil.rmtree(path, ignore_errors=True)
        if (path / MANIFEST).exists():
            return path
        with atomic_directory(path) as staging:
            for name in files:
                target = staging / name
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    storage.get_file(storage.join(url, name), target)
                except (FontpipeError, OSError):
                    raise FontpipeError(
                        f"{storage.join(url, name)}: listed in the manifest but missing"
                    ) from None
            (staging / MANIFEST).write_bytes(raw)
    return path


def _listed_files(raw: bytes, where: str) -> list[str]:
    """The manifest's files, each a relative path inside the dataset (a name that climbs out,
    `../x` or `/x`, would write outside the cache)."""
    try:
        manifest: Any = json.loads(raw)
        names = [name for split in SPLITS for name in manifest["splits"][split]["files"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise FontpipeError(f"{where}: not a fontpipe dataset manifest ({exc})") from None
    for name in names:
        parts = PurePosixPath(str(name)).parts
        if not parts or PurePosixPath(str(name)).is_absolute() or ".." in parts:
            raise FontpipeError(f"{where}: file {name!r} is not inside the dataset")
    return [str(name) for name in names]
