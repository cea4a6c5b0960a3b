"""A dataset read from a store (memory:// here, the same calls as s3://): copied into a local
cache, checked there like any dataset, recorded by its URL, and refused whole when it is broken.
Writing a dataset to a store is refused before any work."""

from __future__ import annotations

import json
import uuid

import fsspec
import numpy as np
import pytest
from typer.testing import CliRunner

from cli.app import app
from fontpipe.data.datasets import open_dataset, read_split_arrays
from fontpipe.data.fetch import DATASETS
from fontpipe.data.seen import seen_colours
from fontpipe.errors import FontpipeError
from fontpipe.registry.versions import open_version
from fontpipe.user_cache import user_cache_dir

runner = CliRunner()


@pytest.fixture
def store_dataset(tiny_dataset, private_tmp):
    """The tiny dataset copied, file by file as a user would, to a fresh memory:// prefix."""
    prefix = f"/fontpipe-test-{uuid.uuid4().hex[:8]}/datasets/tiny"
    fs = fsspec.filesystem("memory")
    for path in tiny_dataset.path.rglob("*"):
        if path.is_file():
            fs.pipe(f"{prefix}/{path.relative_to(tiny_dataset.path).as_posix()}", path.read_bytes())
    yield f"memory://{prefix}"
    fs.rm(prefix, recursive=True)


def test_a_store_dataset_reads_as_the_local_one(tiny_dataset, store_dataset):
    opened = open_dataset(store_dataset)
    assert opened.source == store_dataset
    assert opened.info().path == store_dataset
    assert opened.path.is_relative_to(user_cache_dir(DATASETS))
    assert opened.fingerprint == tiny_dataset.fingerprint
    for split in ("train", "val", "test"):
        ours, theirs = read_split_arrays(opened, split), read_split_arrays(tiny_dataset, split)
        np.testing.assert_array_equal(ours[0], theirs[0])
        np.testing.assert_array_equal(ours[1], theirs[1])
    # The colours a model would have seen are the same, read through the URL a model records.
    np.testing.assert_array_equal(
        seen_colours(store_dataset, tiny_dataset.fingerprint),
        seen_colours(tiny_dataset.path, tiny_dataset.fingerprint),
    )


def test_a_damaged_cached_copy_is_fetched_again(store_dataset):
    first = open_dataset(store_dataset)
    victim = first.split_files("train")[0]
    victim.write_bytes(b"not parquet")
    again = open_dataset(store_dataset)
    assert again.path == first.path
    assert read_split_arrays(again, "train")[0].shape[0] == again.split_rows("train")


def test_a_broken_store_dataset_is_refused_naming_its_url(store_dataset):
    fs = fsspec.filesystem("memory")
    manifest = json.loads(fs.cat(store_dataset + "/manifest.json"))
    first = manifest["splits"]["train"]["files"][0]
    fs.pipe(f"{store_dataset}/{first}", b"PAR1 not really")
    with pytest.raises(FontpipeError, match="corrupt Parquet file") as caught:
        open_dataset(store_dataset)
    assert f"{store_dataset}/{first}" in str(caught.value)
    fs.rm(f"{store_dataset}/{first}")
    with pytest.raises(FontpipeError, match="listed in the manifest but missing"):
        open_dataset(store_dataset)


def test_a_manifest_that_climbs_out_is_refused(store_dataset):
    fs = fsspec.filesystem("memory")
    manifest = json.loads(fs.cat(store_dataset + "/manifest.json"))
    manifest["splits"]["test"]["files"].append("../../elsewhere.parquet")
    fs.pipe(store_dataset + "/manifest.json", json.dumps(manifest).encode())
    with pytest.raises(FontpipeError, match="not inside the dataset"):
        open_dataset(store_dataset)


def test_no_dataset_there_is_one_line(private_tmp):
    with pytest.raises(FontpipeError, match="not a fontpipe dataset"):
        open_dataset(f"memory:///fontpipe-test-{uuid.uuid4().hex[:8]}/nothing")


def test_train_from_a_store_records_the_url(store_dataset, tmp_path, tiny_dataset):
    """`fontpipe train --dataset memory://...`: the version records the store URL, and the
    colours it saw are read back through it (held-out evaluation depends on them)."""
    models = tmp_path / "models"
    result = runner.invoke(
        app,
        [
            "train",
            "--dataset",
            store_dataset,
            "--architecture",
            "channel-tables",
            "--device",
            "cpu",
            "--models-dir",
            str(models),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    (version_dir,) = [p for p in models.iterdir() if p.is_dir() and not p.name.startswith(".")]
    metadata = open_version(version_dir).metadata
    # A URL with no host comes back from the command line's path type as `memory://prefix`,
    # which names the same objects.
    assert metadata.dataset.path.startswith("memory://")
    assert metadata.dataset.path.endswith(store_dataset.removeprefix("memory:///"))
    assert metadata.dataset.fingerprint == tiny_dataset.fingerprint
    assert open_dataset(metadata.dataset.path).fingerprint == tiny_dataset.fingerprint


def test_generate_to_a_store_is_refused(data_root):
    result = runner.invoke(
        app, ["generate", "--rows", "1000", "--out", "memory:///fontpipe-test/datasets/x"]
    )
    assert result.exit_code == 2
    assert "local directory only" in result.output
    assert not fsspec.filesystem("memory").exists("/fontpipe-test/datasets/x")


def test_evaluate_measures_a_store_dataset_test_split(store_dataset, tmp_path, data_root):
    """evaluate --dataset memory://...: the test split is read from the store, and the version
    trained from it is measured on the colours it never saw."""
    from fontpipe.model import ModelConfig
    from fontpipe.settings import Settings
    from fontpipe.steps.evaluate import EvaluateRequest, run
    from fontpipe.steps.train import run as train
    from fontpipe.training.config import TrainConfig

    settings = Settings.from_env()
    config = TrainConfig(model=ModelConfig(architecture="channel-tables"), device="cpu")
    version = train(store_dataset, config, settings.models_dir)
    request = EvaluateRequest(
        model=str(version.path), dataset=store_dataset, write_report=False, recipe=None
    )
    metrics = run(request, settings).metrics
    assert metrics.test_split is not None
    # Through a path-typed field a URL with no host reads `memory://prefix`: the same objects.
    assert metrics.test_split.dataset.endswith(store_dataset.removeprefix("memory:///"))
    assert metrics.test_split.dataset.startswith("memory://")
    assert metrics.headline.scope == "held-out"
    assert metrics.headline.colours < 1 << 24
