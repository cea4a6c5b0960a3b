"""The `train_model` flow: train on a dataset (or generate one first) and save a model version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.generate import generate_dataset
from fontpipe.registry.versions import ModelVersion, read_history
from fontpipe.settings import Settings
from fontpipe.steps import train as train_step
from fontpipe.summaries import training_markdown
from fontpipe.training.config import TrainConfig


@task(name="train-model", timeout_seconds=12 * 3600)
def train_model_task(dataset_path: str, config: TrainConfig, models_dir: str) -> ModelVersion:
    return train_step.run(dataset_path, config, Path(models_dir))


@task(name="publish-training-summary")
def publish_training_summary(version: ModelVersion) -> None:
    create_markdown_artifact(markdown=training_markdown(version.metadata), key="training-summary")
    create_table_artifact(
        table=[{k: round(v, 6) for k, v in row.items()} for row in read_history(version)],
        key="training-history",
        description="loss and accuracy per epoch",
    )


@flow(name="train_model", log_prints=True)
def train_model_flow(
    dataset: str | None = None,
    generate: dict[str, Any] | None = None,
    config: TrainConfig | None = None,
    models_dir: str | None = None,
) -> str:
    """Train on `dataset`, or on the dataset that `generate` parameters make (reused when it
    already exists); returns the new model version."""
    settings = Settings.from_env()
    if dataset is None:
        dataset = generate_dataset(**(generate or {})).path
    version = train_model_task(
        dataset, config or TrainConfig(), models_dir or str(settings.models_dir)
    )
    publish_training_summary(version)
    print(f"model version {version.name} saved to {version.path}")
    return version.name


if __name__ == "__main__":
    train_model_flow(generate={"rows": 1_000_000, "sampling": "boundary"})
