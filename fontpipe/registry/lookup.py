"""A model version opened for a quick look-up without pydantic: which version answers, its model
file checked against its recorded checksum and its cube table against its record: every check
that `versions.open_version` and `versions.load_verified_cube_table` make, in every process.

Importing pydantic and building the registry's models would cost a look-up more than the
look-up itself. So `metadata.json` is read with `json` and taken only in the plain shape that
`VersionMetadata` accepts as it is, without coercing anything, and the champion is read from
`promotions.jsonl` by the reader `champions` uses. Whatever is not plain (a field of another
type, a legacy pointer, a store URL, a missing, tampered or unmatched file) makes these functions
answer None, and the caller goes the full way through `champions` and `versions`, which refuses
with its own one-line error or rebuilds a missing table. Nothing is skipped and nothing is cached.

`versions` owns the version directory; the names here are its names, and
tests/unit/test_registry_lookup.py holds both modules to the same names and the same verdicts.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from mmap import ACCESS_READ
from mmap import mmap as map_file
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fontpipe.errors import FontpipeError
from fontpipe.registry.promotion_log import read_promotion_log
from fontpipe.schema import CUBE_SIZE

if TYPE_CHECKING:
    from fontpipe.color.cube import CubeTable

MODEL_FILE = "model.keras"
METADATA_FILE = "metadata.json"
CUBE_FILE = "cube.npy"
CUBE_RECORD_FILE = "cube.json"  # binds cube.npy to the model file it was computed from
CHAMPION = "champion"  # the reference that names the current champion


def version_dir(models_dir: Path, name: str) -> Path:
    return models_dir / name


def is_version_dir(path: Path) -> bool:
    return (path / METADATA_FILE).exists() and (path / MODEL_FILE).exists()


def file_sha256(path: Path) -> str:
    """The file's SHA-256, the digest `records.sha256_file` gives, hashed from a memory map: one
    call over the mapped pages instead of a copy per block (the cube table is 32 MiB)."""
    with path.open("rb") as handle:
        if not handle.seek(0, 2):
            return hashlib.sha256().hexdigest()  # an empty file cannot be mapped
        with map_file(handle.fileno(), 0, access=ACCESS_READ) as mapped:
            return hashlib.sha256(mapped).hexdigest()


def cube_table_problem(path: Path, model_sha256: str) -> str | None:
    """Why the cube table at `path` must not answer for the model whose checksum is
    `model_sha256`, or None when its record binds it to that model and its bytes still match."""
    record_path = path.with_name(CUBE_RECORD_FILE)
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = None
    if not isinstance(record, dict):
        return f"{path}: no readable {CUBE_RECORD_FILE} binds it to its model"
    if record.get("model_sha256") != model_sha256:
        return f"{path}: computed from another model file than {MODEL_FILE}"
    if file_sha256(path) != record.get("cube_sha256"):
        return f"{path}: checksum mismatch; the table was modified or truncated"
    return None


def load_cube_table(path: Path, *, mmap: bool = True) -> CubeTable:
    """A saved cube table file, shape and dtype checked; memory-mapped by default so several
    processes share one copy. As `versions.load_cube_table`, whose errors these are."""
    try:
        table = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise FontpipeError(f"{path}: unreadable cube table ({exc})") from None
    if table.shape != (CUBE_SIZE,) or table.dtype != np.float16:
        raise FontpipeError(f"{path}: not a cube table (shape {table.shape}, dtype {table.dtype})")
    checked: CubeTable = table
    return checked


def quick_version_path(reference: str, models_dir: Path, rule: str | None) -> Path | None:
    """What `champions.resolve_model` answers for `reference` (`champion` of `rule`, a version
    name, or a version directory), or None where it would read a legacy pointer or a store, or
    refuse."""
    if ":" in reference or ":" in str(models_dir):
        return None  # perhaps a store URL (s3://...), even one pathlib folded to s3:/...
    if reference == CHAMPION:
        version = _quick_champion(models_dir, rule)
        return None if version is None else version_dir(models_dir, version)
    for candidate in (Path(reference), version_dir(models_dir, reference)):
        if is_version_dir(candidate):
            return candidate
    return None


def quick_cube_table(version_path: Path) -> CubeTable | None:
    """The version's cube table after the full path's checks, in its order (a version directory,
    metadata that validates, the model file's checksum, the table's record and checksum), or
    None where any check fails or needs the full path."""
    if not is_version_dir(version_path):
        return None
    try:
        metadata = _plain_metadata(version_path / METADATA_FILE)
    except OSError:
        return None
    if metadata is None or file_sha256(version_path / MODEL_FILE) != metadata["model_sha256"]:
        return None
    path = version_path / CUBE_FILE
    if not path.exists() or cube_table_problem(path, metadata["model_sha256"]) is not None:
        return None
    try:
        return load_cube_table(path)
    except FontpipeError:
        return None


class _NotPlain(Exception):
    """A metadata file whose verdict only pydantic can give."""


def _quick_champion(models_dir: Path, rule: str | None) -> str | None:
    """`champions.champion`: the last promotion of `rule` in the log, read by the same reader;
    None when no entry names one (the full path then reads a legacy pointer) or when a
    version's rule needs pydantic to tell."""

    def rule_of(version: str) -> str | None:
        # champions' reader takes a version whose metadata is gone or does not validate as gone.
        try:
            metadata = _plain_metadata(version_dir(models_dir, version) / METADATA_FILE)
        except OSError:
            return None
        if metadata is None:
            raise _NotPlain(version)
        return str(metadata["rule"])

    try:
        entries = read_promotion_log(models_dir, rule_of).entries
    except _NotPlain:
        return None
    for entry in reversed(entries):
        if rule is None or entry["rule"] == rule:
            return str(entry["to"])
    return None


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_int(value: Any) -> bool:
    return type(value) is int and abs(value) < 2**63


def _is_number(value: Any) -> bool:
    return (type(value) is int and abs(value) < 2**53) or type(value) is float


def _mapping_of(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, dict) and all(map(check, value.values()))


def _is_dataset(value: Any) -> bool:
    return isinstance(value, dict) and all(
        name in value and check(value[name]) for name, check in DATASET_FIELDS.items()
    )


# `DatasetInfo` and `VersionMetadata` (a `TrainingRecord`) as plain JSON: each field with the one
# JSON type pydantic takes as it is. tests/unit/test_registry_lookup.py holds these tables to the
# models' fields; metadata with a key not named here (a field added since) goes the full way.
DATASET_FIELDS: dict[str, Callable[[Any], bool]] = {
    "path": _is_text,
    "fingerprint": _is_text,
    "rule": _is_text,
    "sampling": _is_text,
    "rows": _mapping_of(_is_int),
}
METADATA_FIELDS: dict[str, Callable[[Any], bool]] = {
    "config": lambda value: isinstance(value, dict),
    "dataset": _is_dataset,
    "rule": _is_text,
    "device": _is_text,
    "replicas": _is_int,
    "epochs_run": _is_int,
    "train_seconds": _is_number,
    "metrics": _mapping_of(_mapping_of(lambda value: value is None or _is_number(value))),
    "versions": _mapping_of(_is_text),
    "version": _is_text,
    "created": _is_text,
    "model_sha256": _is_text,
    "weights_sha256": lambda value: value is None or _is_text(value),
    "fit": lambda value: isinstance(value, dict),  # how the fit was chosen (the model card)
}
OPTIONAL_METADATA_FIELDS = frozenset({"weights_sha256", "fit"})

# A surrogate written as an escape: Python's json takes a lone one, pydantic's parser may not.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _plain_metadata(path: Path) -> dict[str, Any] | None:
    """`metadata.json` when `VersionMetadata` would accept it as it is, else None: not UTF-8 or
    not JSON, a number that is not finite, a duplicated key, a missing field, one of another type
    or one not known here. OSError (a missing file) is the caller's."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
        if _SURROGATE_ESCAPE.search(text):
            return None
        metadata = json.loads(
            text,
            parse_constant=_refuse,
            parse_float=_finite_float,
            object_pairs_hook=_unique_keys,
        )
    except ValueError:  # UnicodeDecodeError and JSONDecodeError among them
        return None
    if not isinstance(metadata, dict) or not metadata.keys() <= METADATA_FIELDS.keys():
        return None
    for name, check in METADATA_FIELDS.items():
        if name in metadata:
            if not check(metadata[name]):
                return None
        elif name not in OPTIONAL_METADATA_FIELDS:
            return None
    return metadata


def _refuse(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} overflows a float")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise ValueError("a key is repeated")
    return found
