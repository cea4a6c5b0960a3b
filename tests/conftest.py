from __future__ import annotations

import os

# Set before Prefect or TensorFlow is imported anywhere in the session.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from collections.abc import Iterator

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Files with a slow test run first, each file's tests in their own order: two test
    processes (make test) then finish together, instead of one running a slow file alone at
    the end."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # a stable sort


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One throwaway Prefect API and database for every flow test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    """Point FONTPIPE_DATA at a fresh directory so nothing touches ./data."""
    root = tmp_path / "data"
    monkeypatch.setenv("FONTPIPE_DATA", str(root))
    return root


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """The temporary directory the dataset lock lives in, this test's own (others write /tmp)."""
    import tempfile

    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_version(tmp_path_factory):
    """A really trained (briefly) model version with its cube table, shared by scoring tests."""
    from fontpipe.data.datasets import write_dataset
    from fontpipe.data.generation import GenerateConfig
    from fontpipe.registry.versions import ensure_cube_table
    from fontpipe.training.config import TrainConfig
    from fontpipe.training.inputs import InputConfig
    from fontpipe.training.train import train_version

    root = tmp_path_factory.mktemp("tiny-model")
    dataset, _ = write_dataset(
        GenerateConfig(rows=40_000, sampling="boundary", seed=5), root / "ds"
    )
    version = train_version(
        dataset,
        TrainConfig(epochs=2, inputs=InputConfig(batch_size=256), device="cpu"),
        root / "models",
    )
    ensure_cube_table(version)
    return version.path


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """A small generated boundary dataset in four files per split (pipelines and training)."""
    from fontpipe.data.datasets import write_dataset
    from fontpipe.data.generation import GenerateConfig

    dataset, _ = write_dataset(
        GenerateConfig(rows=20_000, sampling="boundary", rows_per_file=5_000, seed=3),
        tmp_path_factory.mktemp("ds") / "tiny",
    )
    return dataset


@pytest.fixture(scope="session")
def exact_model(tmp_path_factory):
    """rule -> a channel-table version fitted on that rule's `cube` dataset (exact on every
    colour), with its cube table; trained once per rule and session (each takes ~20 s)."""
    from fontpipe.data.datasets import write_dataset
    from fontpipe.data.generation import GenerateConfig
    from fontpipe.model import ModelConfig
    from fontpipe.registry.versions import ensure_cube_table
    from fontpipe.training.config import TrainConfig
    from fontpipe.training.train import train_version

    root = tmp_path_factory.mktemp("exact-models")
    made: dict[str, object] = {}
    tables = TrainConfig(model=ModelConfig(architecture="channel-tables"), device="cpu")

    def model_for(rule: str):
        if rule not in made:
            dataset, _ = write_dataset(
                GenerateConfig(rows=20_000, sampling="cube", rule=rule), root / f"cube-{rule}"
            )
            version = train_version(dataset, tables, root / "models")
            ensure_cube_table(version)
            made[rule] = version
        return made[rule]

    return model_for
