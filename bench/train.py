"""Training quality and speed, side by side with the original recipe in the same process.

    python bench/train.py [--rules mean,wcag,yiq]

Prints, per rule, for the retrain default (the channel-table model fitted by Newton's method on
the `cube` dataset), for the default `fontpipe train` MLP (1 M-row boundary dataset, 10-10-5,
cosine-decayed Adam) and for the original recipe (10,000 uniform float rows, 5,000 steps of 128,
Adam 0.01): wall time, errors over all 16,777,216 colours in total and by |margin| band; then
the input pipeline's rows/s from Parquet against an in-memory from_tensor_slices ceiling.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_table

from fontpipe.color.cube import compute_cube_table
from fontpipe.color.rules import RULES
from fontpipe.data.datasets import write_dataset
from fontpipe.data.generation import GenerateConfig
from fontpipe.evaluation.metrics import evaluate_cube
from fontpipe.model import ModelConfig
from fontpipe.quiet import import_tensorflow
from fontpipe.registry.versions import load_version
from fontpipe.training.config import TrainConfig
from fontpipe.training.recipes import Recipe, train_recipe
from fontpipe.training.train import train_version

DEFAULT_DATASET = {"rows": 1_000_000, "sampling": "boundary"}
RETRAIN_DATASET = {"rows": 200_000, "sampling": "cube"}
RETRAIN_TRAIN = TrainConfig(model=ModelConfig(architecture="channel-tables"))


def cube_errors(model, rule: str) -> tuple[int, float]:
    evaluation = evaluate_cube(compute_cube_table(model), RULES[rule])
    return evaluation.errors, evaluation.boundary_band.accuracy


def errors_by_band(model, rule: str) -> str:
    """Errors per |margin| band, smallest first: where the mistakes are, not just how many."""
    evaluation = evaluate_cube(compute_cube_table(model), RULES[rule])
    return " / ".join(f"{b.errors:,}" for b in evaluation.bands)


def bench_rule(rule: str, work: Path) -> list[dict[str, object]]:
    rows = []
    recipe_model, recipe_seconds = train_recipe(Recipe(rule=rule))
    errors, band = cube_errors(recipe_model, rule)
    rows.append(
        {
            "rule": rule,
            "model": "original recipe",
            "wall s": recipe_seconds,
            "cube errors": errors,
            "errors by band": errors_by_band(recipe_model, rule),
            "boundary-band acc": band,
        }
    )

    started = time.perf_counter()
    dataset, _ = write_dataset(GenerateConfig(rule=rule, **RETRAIN_DATASET), work / f"cube-{rule}")
    version = train_version(dataset, RETRAIN_TRAIN, work / "models")
    seconds = time.perf_counter() - started  # generation + reading Parquet + the Newton fit
    model = load_version(version.path).model
    errors, band = cube_errors(model, rule)
    rows.append(
        {
            "rule": rule,
            "model": "channel tables, Newton (retrain default)",
            "wall s": seconds,
            "cube errors": errors,
            "errors by band": errors_by_band(model, rule),
            "boundary-band acc": band,
            "x recipe time": seconds / recipe_seconds,
        }
    )

    started = time.perf_counter()
    dataset, _ = write_dataset(GenerateConfig(rule=rule, **DEFAULT_DATASET), work / f"ds-{rule}")
    version = train_version(dataset, TrainConfig(), work / "models")
    seconds = time.perf_counter() - started  # generation + reading Parquet + training + saving
    model = load_version(version.path).model
    errors, band = cube_errors(model, rule)
    rows.append(
        {
            "rule": rule,
            "model": "MLP 10-10-5 (fontpipe train default)",
            "wall s": seconds,
            "cube errors": errors,
            "errors by band": errors_by_band(model, rule),
            "boundary-band acc": band,
            "x recipe time": seconds / recipe_seconds,
        }
    )
    return rows


# Stronger settings tried for the non-linear boundaries (wcag, yiq), each on 1 M boundary rows.
VARIANTS = {
    "10-10-5, 6 epochs": {"epochs": 6},
    "32-32-16, 4 epochs": {"epochs": 4, "model": {"hidden": (32, 32, 16)}},
    "32-32-16, 8 epochs, lr 0.005": {
        "epochs": 8,
        "learning_rate": 0.005,
        "model": {"hidden": (32, 32, 16)},
    },
}


def bench_variants(rule: str, work: Path) -> list[dict[str, object]]:
    rows = []
    dataset, _ = write_dataset(GenerateConfig(rule=rule, **DEFAULT_DATASET), work / f"ds-{rule}")
    for name, overrides in VARIANTS.items():
        started = time.perf_counter()
        version = train_version(dataset, TrainConfig(**overrides), work / "models")
        seconds = time.perf_counter() - started
        errors, band = cube_errors(load_version(version.path).model, rule)
        rows.append(
            {
                "rule": rule,
                "variant": name,
                "wall s": seconds,
                "cube errors": errors,
                "boundary-band acc": band,
            }
        )
    return rows


def bench_pipeline(work: Path) -> list[dict[str, object]]:
    tf = import_tensorflow()
    from fontpipe.data.datasets import read_split_arrays
    from fontpipe.training.inputs import InputConfig, make_dataset

    dataset, _ = write_dataset(GenerateConfig(rows=5_000_000), work / "ds-pipeline")
    n = dataset.split_rows("train")
    rows = []

    def rate(pipeline) -> float:
        started = time.perf_counter()
        for _ in pipeline:
            pass
        return n / (time.perf_counter() - started)

    config = InputConfig(batch_size=512)
    rows.append(
        {
            "pipeline": "Parquet streaming (shuffled)",
            "rows/s": rate(
                make_dataset(dataset, "train", config, seed=0, training=True, in_memory=False)
            ),
        }
    )
    rows.append(
        {
            "pipeline": "Parquet -> memory (shuffled)",
            "rows/s": rate(
                make_dataset(dataset, "train", config, seed=0, training=True, in_memory=True)
            ),
        }
    )
    rgb, label = read_split_arrays(dataset, "train")
    ceiling = tf.data.Dataset.from_tensor_slices((rgb, label)).batch(512).prefetch(tf.data.AUTOTUNE)
    rows.append({"pipeline": "from_tensor_slices ceiling (not shuffled)", "rows/s": rate(ceiling)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rules", default="mean,wcag,yiq")
    parser.add_argument(
        "--variants", default="", help="rules to also try stronger settings on, e.g. wcag,yiq"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fontpipe-bench-") as tmp:
        work = Path(tmp)
        results = []
        for rule in args.rules.split(","):
            results += bench_rule(rule, work)
            print_table(
                "training vs the original recipe (same process, same CPU)",
                results,
                [
                    "rule",
                    "model",
                    "wall s",
                    "x recipe time",
                    "cube errors",
                    "errors by band",
                    "boundary-band acc",
                ],
            )
        variants = [
            row
            for rule in filter(None, args.variants.split(","))
            for row in bench_variants(rule, work)
        ]
        if variants:
            print_table(
                "stronger settings tried (default dataset)",
                variants,
                ["rule", "variant", "wall s", "cube errors", "boundary-band acc"],
            )
        print_table(
            "input pipeline, train split of 5 M rows, batches of 512",
            bench_pipeline(work),
            ["pipeline", "rows/s"],
        )


if __name__ == "__main__":
    main()
