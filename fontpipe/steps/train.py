"""The train step: a dataset's train split in, a verified model version out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fontpipe.data.datasets import (
    Dataset,
    open_dataset,
)
from fontpipe.quiet import quiet_tensorflow
from fontpipe.registry.versions import ModelVersion
from fontpipe.training.config import TrainConfig
from fontpipe.training.train import train_version


def run(
    dataset: Dataset | Path | str,
    config: TrainConfig,
    models_dir: Path,
    *,
    callbacks: Sequence[Any] = (),
    on_device_plan: Callable[[Any], None] | None = None,
) -> ModelVersion:
    """Train on a dataset's train split (validated on its val split) and save a verified version.
    On a multi-worker run, a worker other than the chief raises `WorkerFinished` (exit code 0)."""
    opened = dataset if isinstance(dataset, Dataset) else open_dataset(dataset)
    quiet_tensorflow()
    return train_version(
        opened, config, models_dir, callbacks=list(callbacks), on_device_plan=on_device_plan
    )
