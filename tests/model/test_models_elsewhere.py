"""A model version read where it is not a local directory: sent with a score job as bytes (what
a Dask worker gets), or read from a registry on a store (memory:// here, the same calls as s3://).
Each is verified by its checksum on arrival and kept in a local cache where its cube table is
built or fetched once."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import uuid
from pathlib import Path

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cli.app import app
from fontpipe import storage
from fontpipe.errors import FontpipeError
from fontpipe.registry.champions import promote, resolve_model
from fontpipe.registry.elsewhere import open_bundle, version_bundle
from fontpipe.registry.lock import registry_lock
from fontpipe.registry.versions import (
    CUBE_FILE,
    load_cube_table,
    open_version,
    refuse_store_registry,
)
from fontpipe.scoring import columns
from fontpipe.scoring.job import prepare_job, score_files
from fontpipe.scoring.part import run_part
from fontpipe.scoring.plan import ScoreConfig

runner = CliRunner()


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """A version cache of this test's own (it lives under the system's temporary directory)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    return tmp_path / "tmp"


@pytest.fixture
def store_registry(tiny_version, tmp_path):
    """A registry on a memory:// store holding the tiny version as its champion, uploaded the
    way a user would copy a local registry: files as they are."""
    local = tmp_path / "registry"
    shutil.copytree(tiny_version, local / tiny_version.name)
    promote(local, tiny_version.name)
    prefix = f"/fontpipe-test-{uuid.uuid4().hex[:8]}"
    fs = fsspec.filesystem("memory")
    for path in local.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            fs.pipe(f"{prefix}/models/{path.relative_to(local).as_posix()}", path.read_bytes())
    yield f"memory:/{prefix}/models"
    fs.rm(prefix, recursive=True)


def test_a_bundle_is_verified_on_arrival_and_its_cube_built_once(tiny_version, private_cache):
    bundle = version_bundle(open_version(tiny_version))
    assert len(bundle.model) < 1 << 20  # small enough to travel with every job

    tampered = dataclasses.replace(bundle, model=bytes([bundle.model[0] ^ 1]) + bundle.model[1:])
    with pytest.raises(FontpipeError, match="checksum mismatch on arrival"):
        open_bundle(tampered)

    arrived = open_bundle(bundle)
    assert private_cache in arrived.path.parents and arrived.name == tiny_version.name
    # Built here from the model alone, and equal to the client's table.
    assert np.array_equal(
        load_cube_table(arrived.path / CUBE_FILE), load_cube_table(tiny_version / CUBE_FILE)
    )
    built = columns.bundle_scorer_stats["built"]
    scorer = columns.job_scorer(None, bundle)
    assert columns.job_scorer(None, bundle) is scorer  # one scorer per process and model
    assert columns.bundle_scorer_stats["built"] - built <= 1


def test_a_job_sent_to_workers_carries_its_model_and_no_registry_path(
    tiny_version, private_cache, tmp_path
):
    palette = tmp_path / "palette.parquet"
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (5_000, 3), dtype=np.uint8)
    pq.write_table(pa.table({"r": rgb[:, 0], "g": rgb[:, 1], "b": rgb[:, 2]}), palette)
    job = prepare_job([str(palette)], tmp_path / "out.parquet", tiny_version, ScoreConfig())
    sent = job.for_workers()
    assert sent.version_path is None and sent.model is not None
    assert str(tiny_version) not in repr(dataclasses.replace(sent, model=None))
    result = run_part(sent, sent.parts[0])
    assert result.scored == 5_000


def test_a_registry_on_a_store_is_read_verified_and_refuses_writes(
    store_registry, tiny_version, private_cache
):
    # A --models-dir typed Path folds the URL's "//"; it is still the store.
    for models_dir in (Path(store_registry), store_registry):
        fetched = resolve_model("champion", models_dir, open_version(tiny_version).rule)
        assert private_cache in fetched.parents
        assert open_version(fetched).metadata == open_version(tiny_version).metadata
        # The store's cube table came along, verified against the model: nothing rebuilt.
        assert (fetched / CUBE_FILE).read_bytes() == (tiny_version / CUBE_FILE).read_bytes()
    by_name = resolve_model(tiny_version.name, Path(store_registry))
    by_url = resolve_model(f"{store_registry}/{tiny_version.name}", Path("unused"))
    assert by_name == by_url == fetched

    with pytest.raises(FontpipeError, match="not a model version on the store"):
        resolve_model("20000101-000000-000000", Path(store_registry))
    with pytest.raises(FontpipeError, match="no rename and no lock"):
        refuse_store_registry(Path(store_registry), "save a version")
    with (
        pytest.raises(FontpipeError, match="no rename and no lock"),
        registry_lock(Path(store_registry)),
    ):
        pass


def test_a_tampered_model_on_a_store_is_refused(store_registry, tiny_version, private_cache):
    fs = fsspec.filesystem("memory")
    key = f"{storage.store_url(Path(store_registry))}/{tiny_version.name}/model.keras"
    fs.pipe("/" + key.removeprefix("memory://"), b"not the model")
    with pytest.raises(FontpipeError, match="checksum mismatch"):
        resolve_model(tiny_version.name, Path(store_registry))


def test_score_and_predict_read_a_registry_on_a_store(
    store_registry, tiny_version, private_cache, tmp_path
):
    palette = tmp_path / "palette.csv"
    palette.write_text("hex\n#336699\n#ffcc00\n#000000\n")
    local = score_files([str(palette)], tmp_path / "local.parquet", tiny_version, ScoreConfig())
    done = runner.invoke(
        app,
        [
            "score",
            str(palette),
            "--out",
            str(tmp_path / "store.parquet"),
            "--models-dir",
            store_registry,
            "--rule",
            open_version(tiny_version).rule,
        ],
    )
    assert done.exit_code == 0, done.output
    assert local.scored == 3
    assert pq.read_table(tmp_path / "store.parquet").equals(
        pq.read_table(tmp_path / "local.parquet")
    )
    looked_up = runner.invoke(
        app,
        [
            "predict",
            "#336699",
            "--models-dir",
            store_registry,
            "--model",
            tiny_version.name,
            "--json",
        ],
    )
    assert looked_up.exit_code == 0, looked_up.output
    assert tiny_version.name in looked_up.output
