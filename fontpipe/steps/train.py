"""The train step: a dataset's train split in, a verified model version out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from fontpipe.color.cube import compute_cube_table
from fontpipe.color.rules import get_rule
from fontpipe.data.datasets import (
    Dataset,
    open_dataset,
)
from fontpipe.evaluation.evaluate_version import PSpread, p_black_spread
from fontpipe.evaluation.metrics import evaluate_cube
from fontpipe.quiet import quiet_tensorflow
from fontpipe.registry.versions import ModelVersion
from fontpipe.training.config import TrainConfig
from fontpipe.training.recipes import Recipe, train_recipe
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


class RecipeResult(BaseModel):
    """A recipe of the question, trained and measured over the whole cube against its rule (it
    trains on 10,000 random float colours, so the cube is nearly all unseen colours)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    recipe: str
    title: str
    rule: str
    seed: int
    train_seconds: float
    cube_accuracy: float
    cube_errors: int
    p_black_spread: PSpread


def run_recipe(recipe: Recipe) -> RecipeResult:
    """Train `recipe` and measure it over all 16,777,216 colours."""
    quiet_tensorflow()
    model, seconds = train_recipe(recipe)
    table = compute_cube_table(model)
    evaluation = evaluate_cube(table, get_rule(recipe.rule))
    return RecipeResult(
        recipe=recipe.name,
        title=recipe.title,
        rule=recipe.rule,
        seed=recipe.seed,
        train_seconds=round(seconds, 3),
        cube_accuracy=evaluation.accuracy,
        cube_errors=evaluation.errors,
        p_black_spread=p_black_spread(table),
    )
