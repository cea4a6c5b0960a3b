"""The one owner of model version directories: their file names, checksums, saving, verified
loading, the cube table kept beside the model, and `evaluation.json`.

    models_dir/<version>/
        model.keras        the Keras model (raw 0-255 RGB in, two logits out)
        metadata.json      config, dataset, device, metrics, library versions, model_sha256
        history.csv        loss and accuracy per epoch
        cube.npy           P(black) for all 16,777,216 colours (float16), made on first use
        cube.json          checksums binding cube.npy to model.keras; checked whenever it is loaded
        evaluation.json    headline metrics against the version's own rule
    models_dir/.checkpoints/<run key>/   backups of an unfinished training run

Everyone else asks this module; nobody else joins these names to a path.

A version read from elsewhere (a store, or bytes sent with a task) is cached as a local directory
by `fontpipe.registry.elsewhere`, and then opened here like any.
"""

from __future__ import annotations

# TensorFlow and Keras load on first use: they cost seconds at start-up (python -X importtime), and a look-up never needs them.
# So does fontpipe.storage (pyarrow's filesystems, 0.1 s): only a version on a store needs it.
import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from fontpipe.atomic import atomic_directory, atomic_file, write_json_atomic
from fontpipe.color.cube import compute_cube_table
from fontpipe.errors import FontpipeError
from fontpipe.model import channel_tables_layer
from fontpipe.quiet import import_tensorflow
from fontpipe.records import Headline, TrainedModel, TrainingRecord, sha256_file
from fontpipe.schema import CUBE_SIZE

if TYPE_CHECKING:
    import keras

    from fontpipe.color.cube import CubeTable

MODEL_FILE = "model.keras"
METADATA_FILE = "metadata.json"
HISTORY_FILE = "history.csv"
CUBE_FILE = "cube.npy"
CUBE_RECORD_FILE = "cube.json"  # binds cube.npy to the model file it was computed from
CUBE_FORMAT = "fontpipe-cube/1"
EVALUATION_FILE = "evaluation.json"
CHECKPOINTS_DIR = ".checkpoints"
logger = logging.getLogger("fontpipe")
HISTORY_COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")


class VersionMetadata(TrainingRecord):
    """`metadata.json` of a saved version."""

    version: str
    created: str
    model_sha256: str
    # Checksum of the weights alone (the .keras file also holds its save time): two versions
    # with equal weights_sha256 answer identically. Absent in versions saved before it existed.
    weights_sha256: str | None = None


class ModelVersion(BaseModel):
    """A version directory whose model file matched its checksum when it was opened."""

    model_config = ConfigDict(frozen=True)

    path: Path
    metadata: VersionMetadata

    @property
    def name(self) -> str:
        return self.metadata.version

    @property
    def rule(self) -> str:
        return self.metadata.rule


def new_version_name(now: datetime | None = None) -> str:
    """Sortable by time, unique within a second: 20261126-194800-3f9a1c."""
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%d-%H%M%S}-{os.urandom(3).hex()}"


def store_location(location: Path | str) -> str | None:
    """The URL of a registry or version on a store (see `fontpipe.storage.store_url`), or None
    for a local one, decided without loading the storage module for a plain local path."""
    if ":/" not in str(location):
        return None
    from fontpipe import storage

    return storage.store_url(location)


def refuse_store_registry(models_dir: Path | str, doing: str) -> None:
    """A registry on a store is read, never written: a version must appear whole (a directory
    renamed into place) and a promotion needs the registry lock, and a store has neither a
    rename nor a lock."""
    url = store_location(models_dir)
    if url is not None:
        raise FontpipeError(
            f"{url}: cannot {doing} on a store (a store has no rename and no lock; its registry "
            "is read-only): use a local --models-dir, then copy the version to the store"
        )


def weights_sha256(model: keras.Model) -> str:
    digest = hashlib.sha256()
    for weights in model.get_weights():
        array = np.ascontiguousarray(weights)
        digest.update(str((array.shape, array.dtype.str)).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def remove_version(models_dir: Path, name: str) -> None:
    """Delete a version directory so that no reader ever sees half of it: renamed away first."""

    path = version_dir(models_dir, name)
    retired = models_dir / f".removed-{name}-{os.urandom(4).hex()}"
    os.replace(path, retired)
    shutil.rmtree(retired, ignore_errors=True)


def drop_cube_table(version_path: Path) -> int:
    """Remove a version's cube table (rebuilt from the model on its next use); returns the bytes
    freed. The record goes first, so a table left without it is never trusted."""
    freed = 0
    for name in (CUBE_RECORD_FILE, CUBE_FILE):
        path = version_path / name
        if path.exists():
            freed += path.stat().st_size
            path.unlink()
    return freed


def checkpoint_dir(models_dir: Path, run_key: str) -> Path:
    """Where an unfinished training run keeps its backups, so the same run can resume."""
    return models_dir / CHECKPOINTS_DIR / run_key


def save_version(trained: TrainedModel, models_dir: Path) -> ModelVersion:
    """Write a trained model as a new version directory, atomically."""
    refuse_store_registry(models_dir, "save a version")
    if not all(np.isfinite(w).all() for w in trained.model.get_weights()):
        raise FontpipeError("the trained model has NaN or infinite weights; it was not saved")
    name = new_version_name()
    target = models_dir / name
    with atomic_directory(target) as staging:
        trained.model.save(staging / MODEL_FILE)
        metadata = VersionMetadata(
            **trained.record.model_dump(),
            version=name,
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            model_sha256=sha256_file(staging / MODEL_FILE),
            weights_sha256=weights_sha256(trained.model),
        )
        # The name and time first, as people read the file: the rest follows the record.
        fields = metadata.model_dump(mode="json")
        ordered = {"version": fields.pop("version"), "created": fields.pop("created"), **fields}
        (staging / METADATA_FILE).write_text(json.dumps(ordered, indent=2) + "\n", encoding="utf-8")
        _write_history_csv(staging / HISTORY_FILE, trained.history)
    return ModelVersion(path=target, metadata=metadata)


def _write_history_csv(path: Path, rows: list[dict[str, float]]) -> None:
    lines = [",".join(HISTORY_COLUMNS)]
    for row in rows:
        lines.append(
            ",".join("" if row.get(c) is None else f"{row[c]:.8g}" for c in HISTORY_COLUMNS)
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def version_dir(models_dir: Path, name: str) -> Path:
    return models_dir / name


def is_version_dir(path: Path) -> bool:
    return (path / METADATA_FILE).exists() and (path / MODEL_FILE).exists()


def list_versions(models_dir: Path) -> list[str]:
    """Complete versions, oldest first (names sort by creation time)."""
    if not models_dir.is_dir():
        return []
    return sorted(
        p.name
        for p in models_dir.iterdir()
        if p.is_dir() and not p.name.startswith(".") and is_version_dir(p)
    )


def read_metadata(path: Path) -> VersionMetadata:
    """A version's metadata, without checking its model file (for listings)."""
    metadata_path = path / METADATA_FILE
    try:
        return VersionMetadata.model_validate_json(metadata_path.read_bytes())
    except FileNotFoundError:
        raise FontpipeError(
            f"{path}: not a model version (needs {MODEL_FILE} and {METADATA_FILE})"
        ) from None
    except ValueError as exc:  # pydantic's ValidationError, bad JSON or bad UTF-8
        first = str(exc).splitlines()[0]
        raise FontpipeError(f"{metadata_path}: corrupt metadata ({first})") from None


# (path, size and mtime of both files) -> the version as verified: one command hashes a model once
# however many steps open it.
_verified: dict[tuple[str, int, int, int, int], ModelVersion] = {}


def open_version(path: Path | str) -> ModelVersion:
    """A version whose model file still matches its recorded checksum, else FontpipeError."""
    path = Path(path)
    model_path = path / MODEL_FILE
    if not is_version_dir(path):
        raise FontpipeError(f"{path}: not a model version (needs {MODEL_FILE} and {METADATA_FILE})")
    model_stat = model_path.stat()
    meta_stat = (path / METADATA_FILE).stat()
    key = (
        str(path.resolve()),
        model_stat.st_size,
        model_stat.st_mtime_ns,
        meta_stat.st_size,
        meta_stat.st_mtime_ns,
    )
    if key in _verified:
        return _verified[key]
    metadata = read_metadata(path)
    actual = sha256_file(model_path)
    if actual != metadata.model_sha256:
        raise FontpipeError(
            f"{model_path}: checksum mismatch (expected {metadata.model_sha256[:12]}…, "
            f"found {actual[:12]}…); the model was modified or truncated, refusing to load it"
        )
    version = ModelVersion(path=path, metadata=metadata)
    _verified[key] = version
    return version


def load_keras_model(version: ModelVersion) -> keras.Model:

    import_tensorflow()
    import keras

    channel_tables_layer()  # registers the custom layer, so a channel-tables model loads
    return keras.models.load_model(version.path / MODEL_FILE, compile=False)


@dataclass(frozen=True)
class LoadedVersion:
    version: ModelVersion
    model: keras.Model


def load_version(path: Path | str) -> LoadedVersion:
    """Verify a version and load its Keras model."""
    version = open_version(path)
    return LoadedVersion(version, load_keras_model(version))


def cube_table_path(version: ModelVersion) -> Path:
    return version.path / CUBE_FILE


class CubeTableMismatch(FontpipeError):
    """A cube table that is missing its record, unreadable, or not the one its model computed."""


def _cube_record(version: ModelVersion, cube_sha256: str) -> dict[str, Any]:
    return {
        "format": CUBE_FORMAT,
        "model_sha256": version.metadata.model_sha256,
        "cube_sha256": cube_sha256,
        "colours": CUBE_SIZE,
        "dtype": "float16",
    }


# (cube path, size, mtime, model checksum) -> the verified table: one check per process.
_verified_tables: dict[tuple[str, int, int, str], CubeTable] = {}


def load_verified_cube_table(version: ModelVersion) -> CubeTable:
    """The version's cube table, only if its record binds it to this very model file and its bytes
    still match the recorded checksum; else CubeTableMismatch saying why."""
    path = cube_table_path(version)
    record_path = version.path / CUBE_RECORD_FILE
    if not path.exists():
        raise CubeTableMismatch(f"{path}: no cube table yet")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, version.metadata.model_sha256)
    if key in _verified_tables:
        return _verified_tables[key]
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise CubeTableMismatch(
            f"{path}: no readable {CUBE_RECORD_FILE} binds it to its model"
        ) from None
    if record.get("model_sha256") != version.metadata.model_sha256:
        raise CubeTableMismatch(f"{path}: computed from another model file than {MODEL_FILE}")
    if sha256_file(path) != record.get("cube_sha256"):
        raise CubeTableMismatch(f"{path}: checksum mismatch; the table was modified or truncated")
    table = load_cube_table(path)
    _verified_tables[key] = table
    return table


def ensure_cube_table(version: ModelVersion, model: keras.Model | None = None) -> CubeTable:
    """The version's verified cube table. A missing one is computed from the model and saved
    beside it; one that fails verification (tampered, truncated, copied from another version, or
    left from a replaced model) is never used: it is computed afresh from the verified model."""
    try:
        return load_verified_cube_table(version)
    except CubeTableMismatch as mismatch:
        if cube_table_path(version).exists():
            logger.warning("%s; rebuilding it from the model", mismatch)

    table = compute_cube_table(model if model is not None else load_keras_model(version))
    save_cube_table(version, table)
    return load_verified_cube_table(version)


def check_cube_table(version: ModelVersion) -> None:
    """Refuse (CubeTableMismatch) a version whose existing cube table does not verify; a missing
    table is fine, it is computed on first use. For promotion, which must not rebuild."""
    if cube_table_path(version).exists():
        load_verified_cube_table(version)


def save_cube_table(version: ModelVersion, table: CubeTable) -> None:
    """Write the table, then the record that binds it to the model: a table without a matching
    record is never trusted, so a crash between the two writes only costs a rebuild."""
    path = cube_table_path(version)
    (version.path / CUBE_RECORD_FILE).unlink(missing_ok=True)
    with atomic_file(path) as staging:
        with staging.open("wb") as handle:
            np.save(handle, table, allow_pickle=False)
        cube_sha256 = sha256_file(staging)
    write_json_atomic(version.path / CUBE_RECORD_FILE, _cube_record(version, cube_sha256))


def load_cube_table(path: Path, *, mmap: bool = True) -> CubeTable:
    """A saved cube table file, shape and dtype checked; memory-mapped by default so several
    processes share one copy. Use `ensure_cube_table` to get a version's verified table."""
    try:
        table = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise FontpipeError(f"{path}: unreadable cube table ({exc})") from None
    if table.shape != (CUBE_SIZE,) or table.dtype != np.float16:
        raise FontpipeError(f"{path}: not a cube table (shape {table.shape}, dtype {table.dtype})")
    checked: npt.NDArray[np.float16] = table
    return checked


def read_evaluation(path: Path) -> dict[str, Any] | None:
    """`evaluation.json`: the headline against the version's own rule, once evaluated."""
    evaluation_path = path / EVALUATION_FILE
    if not evaluation_path.exists():
        return None
    try:
        return dict(json.loads(evaluation_path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def write_evaluation(version: ModelVersion, headline: Headline, rule: str) -> None:
    write_json_atomic(version.path / EVALUATION_FILE, {"rule": rule, **headline.model_dump()})


def read_history(version: ModelVersion) -> list[dict[str, float]]:
    """`history.csv` as rows of floats, one per epoch (empty cells left out)."""
    path = version.path / HISTORY_FILE
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    return [
        {name: float(cell) for name, cell in zip(header, line.split(","), strict=True) if cell}
        for line in lines[1:]
        if line.strip()
    ]
