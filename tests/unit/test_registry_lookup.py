"""The quick look-up's registry reader against the registry itself: it answers only where the
registry answers the same, and leaves every damaged, legacy or unusual case to the registry. The
versions here are written by hand (no training): a quick look-up never loads the model."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from fontpipe.errors import FontpipeError
from fontpipe.records import DatasetInfo
from fontpipe.registry import champions, lookup, versions
from fontpipe.registry.lookup import quick_cube_table, quick_version_path
from fontpipe.schema import CUBE_SIZE

MODEL_BYTES = b"a model file, never loaded by these tests"
METADATA = {
    "version": "20990101-000000-aaaaaa",
    "created": "2099-01-01T00:00:00+00:00",
    "config": {"epochs": 1, "model": {"hidden": [4]}},
    "dataset": {
        "path": "/d",
        "fingerprint": "f" * 32,
        "rule": "readable",
        "sampling": "boundary",
        "rows": {"train": 8, "val": 1, "test": 1},
    },
    "rule": "readable",
    "device": "cpu",
    "replicas": 1,
    "epochs_run": 1,
    "train_seconds": 2.5,
    "metrics": {"train": {"loss": 0.5, "accuracy": 0.75}, "test": {"loss": None}},
    "versions": {"fontpipe": "0.1.0"},
    "model_sha256": hashlib.sha256(MODEL_BYTES).hexdigest(),
    "weights_sha256": "0" * 64,
}


def write_version(
    models: Path, name: str = "v1", *, rule: str = "readable", cube: bool = False, **fields
) -> Path:
    path = models / name
    path.mkdir(parents=True)
    (path / lookup.MODEL_FILE).write_bytes(MODEL_BYTES)
    metadata = {**METADATA, "version": name, "rule": rule, **fields}
    (path / lookup.METADATA_FILE).write_text(json.dumps(metadata))
    if cube:
        table = np.linspace(0, 1, CUBE_SIZE, dtype=np.float32).astype(np.float16)
        np.save(path / lookup.CUBE_FILE, table)
        record = {
            "model_sha256": METADATA["model_sha256"],
            "cube_sha256": hashlib.sha256((path / lookup.CUBE_FILE).read_bytes()).hexdigest(),
        }
        (path / lookup.CUBE_RECORD_FILE).write_text(json.dumps(record))
    return path


def full_table(path: Path):
    return versions.load_verified_cube_table(versions.open_version(path))


def test_the_names_and_fields_are_the_registrys():
    assert (lookup.MODEL_FILE, lookup.METADATA_FILE) == (
        versions.MODEL_FILE,
        versions.METADATA_FILE,
    )
    assert (lookup.CUBE_FILE, lookup.CUBE_RECORD_FILE) == (
        versions.CUBE_FILE,
        versions.CUBE_RECORD_FILE,
    )
    assert lookup.CHAMPION == champions.CHAMPION
    # Every field the registry reads is checked here, and required where the registry requires
    # it (a field named here and not there only sends such metadata the full way).
    model_fields = versions.VersionMetadata.model_fields
    assert set(model_fields) <= set(lookup.METADATA_FIELDS)
    for name, field in model_fields.items():
        assert (name in lookup.OPTIONAL_METADATA_FIELDS) == (not field.is_required()), name
    assert set(lookup.DATASET_FIELDS) == set(DatasetInfo.model_fields)


def test_a_sound_version_gives_the_registrys_table(tmp_path):
    path = write_version(tmp_path, cube=True)
    quick = quick_cube_table(path)
    assert quick is not None
    np.testing.assert_array_equal(quick, full_table(path))


@pytest.mark.parametrize(
    "fields",
    [
        {"replicas": 1.0},  # pydantic may coerce these: only the registry can say
        {"replicas": "1"},
        {"replicas": True},
        {"replicas": 2**70},
        {"epochs_run": None},
        {"train_seconds": "2.5"},
        {"config": []},
        {"version": 7},
        {"dataset": {**METADATA["dataset"], "rows": {"train": "8"}}},
        {"dataset": {k: v for k, v in METADATA["dataset"].items() if k != "rule"}},
        {"metrics": {"train": {"loss": "0.5"}}},
        {"metrics": {"train": [0.5]}},
        {"versions": {"fontpipe": 1}},
        {"weights_sha256": 1},
        {"device": "\ud800"},
        {"comment": "a key the registry ignores, perhaps a field added since"},
    ],
    ids=repr,
)
def test_metadata_of_another_shape_is_left_to_the_registry(tmp_path, fields):
    path = write_version(tmp_path, cube=True, **fields)
    assert quick_cube_table(path) is None


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[1, 2]",
        json.dumps(METADATA).replace('"train_seconds": 2.5', '"train_seconds": NaN'),
        json.dumps(METADATA).replace('"train_seconds": 2.5', '"train_seconds": 1e999'),
        json.dumps(METADATA).replace('"replicas": 1', '"replicas": 1, "replicas": 2'),
        json.dumps({k: v for k, v in METADATA.items() if k != "rule"}),
    ],
)
def test_metadata_that_is_not_plain_json_is_left_to_the_registry(tmp_path, text):
    path = write_version(tmp_path, cube=True)
    (path / lookup.METADATA_FILE).write_text(text)
    assert quick_cube_table(path) is None


def test_metadata_the_registry_refuses_is_never_taken(tmp_path):
    for n, fields in enumerate([{"rule": 3}, {"config": "x"}, {"metrics": {"a": 1}}]):
        path = write_version(tmp_path, f"v{n}", cube=True, **fields)
        with pytest.raises(FontpipeError, match="corrupt metadata"):
            versions.open_version(path)
        assert quick_cube_table(path) is None


def test_optional_fields_are_taken_as_the_registry_takes_them(tmp_path):
    path = write_version(tmp_path, cube=True, train_seconds=3)
    metadata = json.loads((path / lookup.METADATA_FILE).read_text())
    del metadata["weights_sha256"]
    (path / lookup.METADATA_FILE).write_text(json.dumps(metadata))
    quick = quick_cube_table(path)
    assert quick is not None
    np.testing.assert_array_equal(quick, full_table(path))


def _tamper_model(path: Path) -> None:
    (path / lookup.MODEL_FILE).write_bytes(MODEL_BYTES + b"!")


def _flip_a_cube_byte(path: Path) -> None:
    data = bytearray((path / lookup.CUBE_FILE).read_bytes())
    data[-1] ^= 1
    (path / lookup.CUBE_FILE).write_bytes(bytes(data))


def _truncate_cube(path: Path) -> None:
    data = (path / lookup.CUBE_FILE).read_bytes()
    (path / lookup.CUBE_FILE).write_bytes(data[: len(data) // 3])


def _another_models_record(path: Path) -> None:
    record = json.loads((path / lookup.CUBE_RECORD_FILE).read_text())
    (path / lookup.CUBE_RECORD_FILE).write_text(json.dumps({**record, "model_sha256": "0" * 64}))


@pytest.mark.parametrize(
    ("damage", "refusal"),
    [
        (_tamper_model, "checksum mismatch.*refusing to load it"),
        (_flip_a_cube_byte, "checksum mismatch; the table was modified"),
        (_truncate_cube, "checksum mismatch; the table was modified"),
        (_another_models_record, "another model file"),
        (lambda p: (p / lookup.CUBE_RECORD_FILE).unlink(), "no readable cube.json"),
        (lambda p: (p / lookup.CUBE_RECORD_FILE).write_text("{"), "no readable cube.json"),
        (lambda p: (p / lookup.CUBE_FILE).unlink(), "no cube table yet"),
        (lambda p: (p / lookup.METADATA_FILE).unlink(), "not a model version"),
    ],
)
def test_a_damaged_version_is_left_to_the_registry_which_refuses_it(tmp_path, damage, refusal):
    path = write_version(tmp_path, cube=True)
    damage(path)
    assert quick_cube_table(path) is None
    with pytest.raises(FontpipeError, match=refusal):
        full_table(path)


def promotion(to: str, rule: str = "readable", **more) -> str:
    return json.dumps({"at": None, "rule": rule, "from": None, "to": to, "reason": "t", **more})


def write_log(models: Path, *lines: str) -> None:
    (models / "promotions.jsonl").write_text("".join(line + "\n" for line in lines))


def test_the_champion_is_the_registrys(tmp_path):
    for name, rule in [("a", "readable"), ("b", "wcag"), ("c", "readable")]:
        write_version(tmp_path, name, rule=rule)
    write_log(
        tmp_path,
        promotion("a"),
        promotion("b", "wcag"),
        "not json: a damaged line the readers skip",
        promotion("c"),
        promotion("a", reason="rollback from c", rollback=True),
        promotion("gone"),  # pruned since: its rule comes from the log
    )
    for rule in ("readable", "wcag", None):
        expected = champions.resolve_model("champion", tmp_path, rule)
        assert quick_version_path("champion", tmp_path, rule) == expected
    assert quick_version_path("champion", tmp_path, "readable") == tmp_path / "gone"


def test_a_version_by_name_or_directory_is_the_registrys(tmp_path):
    path = write_version(tmp_path, "a")
    for reference in ("a", str(path)):
        assert quick_version_path(reference, tmp_path, None) == champions.resolve_model(
            reference, tmp_path, None
        )


@pytest.mark.parametrize(
    "setup",
    [
        lambda models: None,  # no champion at all: the registry says how to get one
        lambda models: write_log(models, promotion("w", "wcag")),  # none of this rule
        lambda models: (models / "champion").write_text(json.dumps({"version": "a"})),  # legacy
        lambda models: write_log(models, promotion("odd")),  # a rule only pydantic can tell
    ],
)
def test_what_the_lookup_cannot_tell_is_left_to_the_registry(tmp_path, setup):
    write_version(tmp_path, "a", rule="readable")
    write_version(tmp_path, "odd", rule="readable", replicas=1.0)
    write_version(tmp_path, "w", rule="wcag")
    setup(tmp_path)
    assert quick_version_path("champion", tmp_path, "readable") is None
    for reference in ("nosuch", "s3://bucket/models/a"):
        assert quick_version_path(reference, tmp_path, "readable") is None
    assert quick_version_path("a", Path("s3:/bucket/models"), "readable") is None


def test_a_log_naming_another_rules_version_is_refused_alike(tmp_path):
    write_version(tmp_path, "a", rule="wcag")
    write_log(tmp_path, promotion("a", "readable"))
    with pytest.raises(FontpipeError) as full:
        champions.resolve_model("champion", tmp_path, "readable")
    with pytest.raises(FontpipeError) as quick:
        quick_version_path("champion", tmp_path, "readable")
    assert str(quick.value) == str(full.value)
