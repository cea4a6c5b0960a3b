"""The generate step: a seeded, labelled dataset, or the identical one already there."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from fontpipe.data.datasets import (
    Dataset,
    check_dataset_target,
    default_dataset_path,
    write_dataset,
)
from fontpipe.data.generation import GenerateConfig
from fontpipe.settings import Settings
from fontpipe.steps import RowsDone


@dataclass(frozen=True)
class GeneratedDataset:
    dataset: Dataset
    reused: bool  # an identical dataset (same parameters) was already there
    seconds: float


def run(
    config: GenerateConfig,
    settings: Settings,
    *,
    out: Path | None = None,
    force: bool = False,
    check_space: bool = True,
    rows_done: RowsDone | None = None,
) -> GeneratedDataset:
    """Write the dataset `config` describes (to `out`, or its default place under the data root),
    or reuse the identical one already there."""
    target = check_dataset_target(out or default_dataset_path(settings.datasets_dir, config))
    started = time.perf_counter()
    dataset, reused = write_dataset(
        config, target, force=force, check_space=check_space, progress=rows_done
    )
    return GeneratedDataset(dataset, reused, time.perf_counter() - started)
