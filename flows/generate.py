"""The `generate_dataset` flow: make (or reuse) a labelled Parquet dataset."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.context import TaskRunContext

from fontpipe.data.datasets import (
    DatasetRef,
    default_dataset_path,
    open_dataset,
    reusable_dataset,
)
from fontpipe.data.generation import GenerateConfig, parse_generate_config
from fontpipe.schema import DEFAULT_RULE
from fontpipe.settings import Settings
from fontpipe.steps import generate as generate_step
from fontpipe.summaries import dataset_markdown


def dataset_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    config: GenerateConfig = parameters["config"]
    where = hashlib.sha256(str(Path(parameters["out"]).resolve()).encode()).hexdigest()[:12]
    # "v2": the task returns a DatasetRef; entries cached by older releases hold a dict.
    return f"generate-v2-{config.params_hash()}-{where}"


@task(
    name="write-dataset",
    cache_key_fn=dataset_cache_key,
    persist_result=True,
    timeout_seconds=6 * 3600,
)
def write_dataset_task(config: GenerateConfig, out: str, force: bool = False) -> DatasetRef:
    made = generate_step.run(config, Settings.from_env(), out=Path(out), force=force)
    return made.dataset.ref(reused=made.reused)


@task(name="publish-dataset-summary")
def publish_dataset_summary(path: str) -> str:
    markdown = dataset_markdown(open_dataset(path))
    create_markdown_artifact(
        markdown=markdown, key="dataset-summary", description="generated dataset"
    )
    return markdown


def ensure_dataset(config: GenerateConfig, out: str | None, force: bool) -> DatasetRef:
    """The steps of both flows below, run as tasks of whichever flow calls them."""
    target = out or str(default_dataset_path(Settings.from_env().datasets_dir, config))
    # A cache entry is only trusted while its dataset is still on disk and intact; otherwise the
    # task runs again (and is cached afresh).
    refresh = force or reusable_dataset(config, Path(target)) is None
    dataset = write_dataset_task.with_options(refresh_cache=refresh)(config, target, force)
    publish_dataset_summary(dataset.path)
    return dataset


@flow(name="make_dataset", log_prints=True)
def make_dataset(config: GenerateConfig, out: str | None = None, force: bool = False) -> DatasetRef:
    """Generate the dataset `config` describes, or reuse the one already made from it."""
    return ensure_dataset(config, out, force)


@flow(name="generate_dataset", log_prints=True)
def generate_dataset(
    rows: int = 1_000_000,
    rule: str = DEFAULT_RULE,
    sampling: str = "uniform-int",
    seed: int = 0,
    out: str | None = None,
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    boundary_share: float = 0.5,
    boundary_width: float | None = None,
    rows_per_file: int = 1_000_000,
    force: bool = False,
) -> DatasetRef:
    """Generate a dataset from plain parameters (for deployments and the UI)."""
    config = parse_generate_config(
        rows=rows,
        rule=rule,
        sampling=sampling,
        seed=seed,
        split_fractions=split_fractions,
        boundary_share=boundary_share,
        boundary_width=boundary_width,
        rows_per_file=rows_per_file,
    )
    return ensure_dataset(config, out, force)


if __name__ == "__main__":
    outcome = generate_dataset()
    print(f"dataset ready at {outcome.path}")
