"""Versions that are not local directories: read (never written) from a store URL
(`fetch_version`: `s3://bucket/models/<version>`, any fsspec protocol), or from a `ModelBundle`,
the version's two small files as bytes that a score job sends with each part to Dask workers
which cannot read the client's files. Both are verified by the model's checksum on arrival and
copied into a local cache of versions (`fontpipe.user_cache`, under the system's temporary
directory, keyed by that checksum), where the cube table is built or fetched once and mapped as
it is for any version (`fontpipe.registry.versions` owns the directory and its file names).
"""

from __future__ import annotations

# fontpipe.storage (pyarrow's filesystems, 0.1 s) loads on first use: only a store needs it.
import hashlib
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fontpipe.atomic import atomic_directory, atomic_file
from fontpipe.errors import FontpipeError
from fontpipe.registry.versions import (
    CUBE_FILE,
    CUBE_RECORD_FILE,
    METADATA_FILE,
    MODEL_FILE,
    CubeTableMismatch,
    ModelVersion,
    VersionMetadata,
    cube_table_path,
    drop_cube_table,
    ensure_cube_table,
    is_version_dir,
    load_verified_cube_table,
    open_version,
)
from fontpipe.user_cache import entry_lock, private_cache

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelBundle:
    """A verified version as bytes, for a process that cannot read its directory (a Dask worker
    on another machine): `metadata.json` and the model file, a few kB to a few hundred kB for
    both families (channel tables: 769 weights; the MLP: a few small dense layers). The cube
    table is not sent: 32 MiB, and the receiver builds it once from the model."""

    name: str
    rule: str
    model_sha256: str
    metadata: bytes
    model: bytes


def version_bundle(version: ModelVersion) -> ModelBundle:
    """The version's files as bytes, checked against the checksum it was opened with."""
    model = (version.path / MODEL_FILE).read_bytes()
    if hashlib.sha256(model).hexdigest() != version.metadata.model_sha256:
        raise FontpipeError(
            f"{version.path / MODEL_FILE}: changed since it was verified; refusing to send it"
        )
    return ModelBundle(
        name=version.name,
        rule=version.rule,
        model_sha256=version.metadata.model_sha256,
        metadata=(version.path / METADATA_FILE).read_bytes(),
        model=model,
    )


def open_bundle(bundle: ModelBundle) -> ModelVersion:
    """The bundle's version, verified on arrival (the model's bytes against the checksum sent and
    the one its metadata records) and kept in the local version cache, where the cube table is
    built once per model for every process of this user on this machine."""
    actual = hashlib.sha256(bundle.model).hexdigest()
    metadata = _parse_metadata(bundle.metadata, f"model {bundle.name}")
    if actual != bundle.model_sha256 or actual != metadata.model_sha256:
        raise FontpipeError(
            f"model {bundle.name}: checksum mismatch on arrival (expected "
            f"{bundle.model_sha256[:12]}…, found {actual[:12]}…); refusing to load it"
        )
    path = _cache_version(
        metadata, {METADATA_FILE: lambda: bundle.metadata, MODEL_FILE: lambda: bundle.model}
    )
    version = open_version(path)
    _build_cube_once(version)
    return version


def fetch_version(url: str) -> Path:
    """A version on a store (`s3://bucket/models/<version>`), read into the local version cache
    and verified there: the directory that every reader of a version (score, predict, evaluate,
    the API) then opens as usual. Its cube table comes from the store when it has one (verified
    against the model like any), else it is built here once."""
    from fontpipe import storage

    url = storage.without_trailing_slash(url)
    try:
        raw = storage.read_bytes(storage.join(url, METADATA_FILE))
    except (FontpipeError, OSError):
        raise FontpipeError(
            f"{url}: not a model version on the store (needs {MODEL_FILE} and {METADATA_FILE})"
        ) from None
    metadata = _parse_metadata(raw, storage.join(url, METADATA_FILE))
    path = _cache_version(
        metadata,
        {
            METADATA_FILE: lambda: raw,
            MODEL_FILE: lambda: storage.read_bytes(storage.join(url, MODEL_FILE)),
        },
    )
    version = open_version(path)  # the model's bytes against the checksum its metadata records
    with entry_lock(path):
        if not cube_table_path(version).exists() and storage.exists(storage.join(url, CUBE_FILE)):
            try:
                _fetch_cube_table(version, url)
            except (FontpipeError, OSError) as exc:
                logger.warning("%s: cube table not copied (%s); building it here", url, exc)
    return path


# The local cache of versions read from a store or received with a task (fontpipe.user_cache).
VERSIONS = "versions"


_VERSION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")


def _parse_metadata(raw: bytes, where: str) -> VersionMetadata:
    try:
        metadata = VersionMetadata.model_validate_json(raw)
    except ValueError as exc:
        first = str(exc).splitlines()[0]
        raise FontpipeError(f"{where}: corrupt metadata ({first})") from None
    if not _VERSION_NAME.match(metadata.version):
        raise FontpipeError(f"{where}: {metadata.version!r} is not a version name")
    return metadata


def _cache_version(metadata: VersionMetadata, files: dict[str, Any]) -> Path:
    """The cache's directory for this model (`<cache>/<model checksum>/<version>`), written
    whole by whichever process comes first; a copy that no longer verifies is replaced."""
    path = private_cache(VERSIONS) / metadata.model_sha256[:32] / metadata.version
    with entry_lock(path):
        if is_version_dir(path):
            try:
                open_version(path)
                return path
            except FontpipeError:
                shutil.rmtree(path, ignore_errors=True)
        with atomic_directory(path) as staging:
            for name, read in files.items():
                (staging / name).write_bytes(read())
    return path


def _build_cube_once(version: ModelVersion) -> None:
    with entry_lock(version.path):
        ensure_cube_table(version)


def _fetch_cube_table(version: ModelVersion, url: str) -> None:
    """The store's cube table and its record, record last (a table without one is never
    trusted); then verified against this model, or dropped for a rebuild."""
    from fontpipe import storage

    record = storage.read_bytes(storage.join(url, CUBE_RECORD_FILE))
    with atomic_file(cube_table_path(version)) as staging:
        storage.get_file(storage.join(url, CUBE_FILE), staging)
    with atomic_file(version.path / CUBE_RECORD_FILE) as staging:
        staging.write_bytes(record)
    try:
        load_verified_cube_table(version)
    except CubeTableMismatch:
        drop_cube_table(version.path)
        raise
