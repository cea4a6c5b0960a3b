"""Learning curves: how many errors each model family makes on colours it never saw, against
how much of the cube it trained on.

A point draws a seeded, colour-disjoint train and validation sample of a share of the cube
(validation is 1/8 of train, as `fontpipe.steps.retrain.teaching_sample` draws it), fits one
family to it, and measures the fitted model over every other colour of the cube (held-out: in
neither train nor validation) with `evaluate_cube`, the same errors, far errors and AA lost the
report shows. `bench/learning_curve.py` runs the grid; this module owns its JSON file, which the
evaluation report reads.

The two families, each as the pipeline fits it:
- `channel-tables`: colours gathered per colour, Newton's method with the smoothness penalty and
  the step chosen on the validation split (`fontpipe.training.table_fit`).
- `mlp`: the usual network and optimiser (`TrainConfig`'s defaults: 10-10-5 ReLU, Adam 0.01 on
  a cosine schedule, batches of 512), fitted by Keras on the sample held in memory, with early
  stopping on the validation loss (best weights kept). A sample too small for the default's
  three epochs to teach anything gets more: epochs enough for about `MLP_STEPS` batches, within
  `MLP_MAX_EPOCHS`; a caller may cap them (`max_epochs`), and the point records the cap.
"""

from __future__ import annotations

# TensorFlow and Keras load on first use (the mlp family only): they cost seconds at start-up.
import contextlib
import math
import os
import platform
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fontpipe.atomic import write_text_atomic
from fontpipe.color.cube import (
    CubeTable,
    channel_tables_cube,
    compute_cube_table,
)
from fontpipe.color.rules import get_rule
from fontpipe.data.generation import Chunk, GenerateConfig, band_width_holding, generate_chunk
from fontpipe.data.splits import colour_mask, rounded_index
from fontpipe.errors import FontpipeError
from fontpipe.evaluation.metrics import evaluate_cube
from fontpipe.model import build_model
from fontpipe.quiet import import_tensorflow
from fontpipe.schema import CUBE_SIZE
from fontpipe.training.colour_rows import gather_colour_rows
from fontpipe.training.config import TrainConfig, compile_model
from fontpipe.training.table_fit import fit_channel_tables

Family = Literal["channel-tables", "mlp"]
CurveSampling = Literal["uniform", "boundary"]
FAMILIES: tuple[Family, ...] = ("channel-tables", "mlp")
SAMPLINGS: tuple[CurveSampling, ...] = ("uniform", "boundary")
# Training shares of the cube: 16,777, 167,772, 1,677,722 and 8,388,608 colours.
SHARES = (0.001, 0.01, 0.1, 0.5)

LEARNING_CURVE_FILE = "learning-curve.json"
# What a retrain draws (fontpipe.steps.retrain, a floor above): train, val and test fractions,
# so validation is 1/8 of train; 80 % of each split in a band about the boundary.
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)
BOUNDARY_SHARE = 0.8
# The band holds twice the colours drawn from it, but at most this share of the cube: at 50 %
# twice would be the whole cube, and the fifth of the rows drawn outside the band need room.
MAX_BAND_SHARE = 0.75
# The Newton steps a table fit may take (TrainConfig's default).
MAX_NEWTON_STEPS = 60
# mlp: about as many batches as the default three epochs over 1 M rows, the run that reaches 0
# cube errors on the mean rule; never fewer than the default's epochs, never more than
# MLP_MAX_EPOCHS.
MLP_STEPS = 6_000
MLP_MAX_EPOCHS = 200


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CurvePoint(_Frozen):
    """One family fitted to one seeded sample, measured on the cube's held-out colours."""

    rule: str
    family: Family
    sampling: CurveSampling
    share: float = Field(gt=0, le=1)  # the training share asked for
    seed: int = Field(ge=0)
    train_colours: int  # distinct colours trained on
    val_colours: int  # distinct colours that chose the penalty, step or epoch
    held_out_colours: int  # CUBE_SIZE - train - val: what the figures are measured on
    errors: int
    far_errors: int  # errors with |margin| >= far_margin
    far_margin: float
    margin_unit: str
    aa_lost: int  # errors whose text misses 4.5:1 where the other colour reaches it
    fit_seconds: float  # the fit alone: not the draw, not the cube evaluation
    fit: str  # what the fit chose or ran, in words
    epochs_capped: bool = False  # mlp: a cap below what the sample would otherwise get


class LearningCurve(_Frozen):
    """The points of one bench run, and where they were measured."""

    generated: str
    machine: str
    runs: str = "one seeded run per point"
    points: list[CurvePoint]

    def for_rule(self, rule: str) -> list[CurvePoint]:
        order = {name: i for i, name in enumerate(FAMILIES)} | {
            name: i for i, name in enumerate(SAMPLINGS)
        }
        return sorted(
            (p for p in self.points if p.rule == rule),
            key=lambda p: (order[p.family], order[p.sampling], p.share),
        )


@dataclass(frozen=True)
class CurveSample:
    """A point's training and validation rows: every colour in one split, drawn once."""

    config: GenerateConfig
    train: Chunk
    val: Chunk

    def seen(self) -> npt.NDArray[np.bool_]:
        """A 2^24 mask of the train and validation colours."""
        return colour_mask(
            np.concatenate([rounded_index(self.train.rgb), rounded_index(self.val.rgb)])
        )


def sample_config(rule: str, sampling: CurveSampling, share: float, seed: int) -> GenerateConfig:
    """The generator config of a point's sample: `share` of the cube in the train split; for
    `boundary`, drawn as a retrain draws it (80 % in a band holding twice those colours)."""
    rows = round(CUBE_SIZE * share / SPLIT_FRACTIONS[0])
    common = {
        "rows": rows,
        "rule": rule,
        "seed": seed,
        "split_fractions": SPLIT_FRACTIONS,
        "rows_per_file": rows,  # one chunk per split: no colour drawn twice
    }
    if sampling == "uniform":
        return GenerateConfig(sampling="uniform-int", **common)
    band = min(2 * rows * BOUNDARY_SHARE / CUBE_SIZE, MAX_BAND_SHARE)
    # Just above the quantile: the band is |margin| < width, and a rule whose margins are
    # discrete (mean: half-integers) would otherwise leave out the colours at the quantile,
    # at 0.1 % every colour of the band.
    width = float(np.nextafter(band_width_holding(get_rule(rule), band), np.inf))
    return GenerateConfig(
        sampling="boundary",
        boundary_share=BOUNDARY_SHARE,
        boundary_width=width,
        **common,
    )


def draw_sample(rule: str, sampling: CurveSampling, share: float, seed: int) -> CurveSample:
    """The train and validation rows of a point (its test split is never drawn: every colour
    outside train and validation is held out)."""
    config = sample_config(rule, sampling, share, seed)
    rows = config.split_rows()
    return CurveSample(
        config=config,
        train=generate_chunk(config, "train", 0, rows["train"]),
        val=generate_chunk(config, "val", 0, rows["val"]),
    )


def _fit_tables(sample: CurveSample, device: str | None) -> tuple[CubeTable, str]:
    train = gather_colour_rows([(sample.train.rgb, sample.train.label)])
    val = gather_colour_rows([(sample.val.rgb, sample.val.label)])
    fit = fit_channel_tables(train, val, max_steps=MAX_NEWTON_STEPS, device=device)
    # The very table a saved model of these tables would have (`color.cube`).
    return channel_tables_cube(fit.tables, fit.bias), fit.summary()


def mlp_epochs(train_rows: int, max_epochs: int | None = None) -> tuple[int, bool]:
    """Epochs for an mlp on `train_rows` rows, and whether `max_epochs` cut them."""
    config = TrainConfig()
    per_epoch = max(math.ceil(train_rows / config.inputs.batch_size), 1)
    wanted = min(max(math.ceil(MLP_STEPS / per_epoch), config.epochs), MLP_MAX_EPOCHS)
    if max_epochs is not None and max_epochs < wanted:
        return max_epochs, True
    return wanted, False


def _fit_mlp(
    sample: CurveSample, seed: int, device: str | None, max_epochs: int | None
) -> tuple[CubeTable, str, bool]:
    tf = import_tensorflow()
    import keras

    epochs, capped = mlp_epochs(len(sample.train.label), max_epochs)
    config = TrainConfig(epochs=epochs, seed=seed)
    keras.utils.set_random_seed(seed)
    x = sample.train.rgb.astype(np.float32)
    y = sample.train.label.astype(np.int32)
    validation = (sample.val.rgb.astype(np.float32), sample.val.label.astype(np.int32))
    batch = config.inputs.batch_size
    with tf.device(device) if device else contextlib.nullcontext():
        model = build_model(config.model, seed=seed)
        compile_model(model, config, math.ceil(len(y) / batch) * epochs, jit_compile=False)
        stopper = keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=config.early_stopping_patience, restore_best_weights=True
        )
        history = model.fit(
            x,
            y,
            batch_size=batch,
            epochs=epochs,
            validation_data=validation,
            shuffle=True,
            verbose=0,
            callbacks=[stopper],
        )
        table = compute_cube_table(model)
    ran = len(history.history.get("loss", []))
    best = stopper.best_epoch + 1
    limit = f"a cap of {epochs}" if capped else f"at most {epochs}"
    return table, f"{ran} epochs of {limit}; epoch {best} kept (lowest validation loss)", capped


def curve_point(
    rule: str,
    family: Family,
    sampling: CurveSampling,
    share: float,
    *,
    seed: int = 0,
    device: str | None = None,
    max_epochs: int | None = None,
) -> CurvePoint:
    """Fit `family` to a seeded `share` of the cube drawn by `sampling`, and count its errors on
    every colour it neither trained nor validated on. `max_epochs` caps the mlp's epochs."""
    rule_def = get_rule(rule)
    sample = draw_sample(rule_def.name, sampling, share, seed)
    started = time.perf_counter()
    capped = False
    if family == "channel-tables":
        table, fit = _fit_tables(sample, device)
    else:
        table, fit, capped = _fit_mlp(sample, seed, device, max_epochs)
    seconds = time.perf_counter() - started
    train_colours = int(np.unique(rounded_index(sample.train.rgb)).size)
    val_colours = int(np.unique(rounded_index(sample.val.rgb)).size)
    cube = evaluate_cube(table, rule_def, sample.seen())
    return CurvePoint(
        rule=rule_def.name,
        family=family,
        sampling=sampling,
        share=share,
        seed=seed,
        train_colours=train_colours,
        val_colours=val_colours,
        held_out_colours=cube.colours,
        errors=cube.errors,
        far_errors=cube.far_errors,
        far_margin=rule_def.far_margin,
        margin_unit=rule_def.margin_unit,
        aa_lost=cube.aa_lost,
        fit_seconds=round(seconds, 3),
        fit=fit,
        epochs_capped=capped,
    )


@dataclass(frozen=True)
class CurveGrid:
    """Which points a run measures: every combination of these."""

    rules: tuple[str, ...]
    families: tuple[Family, ...] = FAMILIES
    samplings: tuple[CurveSampling, ...] = SAMPLINGS
    shares: tuple[float, ...] = SHARES
    seed: int = 0
    device: str | None = None
    # mlp epochs at shares of at least `cap_from` (None: never capped): the largest samples
    # cost minutes an epoch on a few cores.
    mlp_max_epochs: int | None = None
    cap_from: float = 0.5

    def points(self) -> list[tuple[str, Family, CurveSampling, float]]:
        return [
            (rule, family, sampling, share)
            for rule in self.rules
            for family in self.families
            for sampling in self.samplings
            for share in self.shares
        ]


def machine_description() -> str:
    """The machine in words, for the figures' context: cores and platform, no names."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cores} CPU cores, {platform.system()} {platform.machine()}"


def learning_curve(
    grid: CurveGrid, on_point: Callable[[CurvePoint], None] | None = None
) -> LearningCurve:
    """Every point of `grid`, one seeded run each; `on_point` sees each as it is measured."""
    points = []
    for rule, family, sampling, share in grid.points():
        cap = grid.mlp_max_epochs if share >= grid.cap_from else None
        point = curve_point(
            rule, family, sampling, share, seed=grid.seed, device=grid.device, max_epochs=cap
        )
        points.append(point)
        if on_point is not None:
            on_point(point)
    return LearningCurve(
        generated=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        machine=machine_description(),
        points=points,
    )


def merge_curves(old: LearningCurve, new: LearningCurve) -> LearningCurve:
    """`new`'s points, and `old`'s where `new` has none of the same (rule, family, sampling,
    share): a run of part of the grid keeps the rest of an earlier run's figures."""

    def key(point: CurvePoint) -> tuple[str, str, str, float]:
        return (point.rule, point.family, point.sampling, point.share)

    measured = {key(p) for p in new.points}
    kept = [p for p in old.points if key(p) not in measured]
    return new.model_copy(update={"points": kept + list(new.points)})


def write_learning_curve(curve: LearningCurve, path: Path) -> Path:
    """The curve as JSON, written atomically (the report reads it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, curve.model_dump_json(indent=2) + "\n")
    return path


def read_learning_curve(path: Path) -> LearningCurve:
    """The curve a bench run wrote, checked against `LearningCurve`; a file that is not one
    raises `FontpipeError` saying why."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FontpipeError(f"{path}: cannot read the learning curve ({exc})") from None
    try:
        return LearningCurve.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the file"
        raise FontpipeError(
            f"{path}: not a learning curve ({where}: {first['msg']}); "
            "run `python bench/learning_curve.py` again"
        ) from None


def _share_text(share: float) -> str:
    return f"{100 * share:g} % of the cube"


def data_needed(points: Iterable[CurvePoint]) -> list[str]:
    """For each family and sampling measured, in one plain sentence: the smallest share with no
    far error, and the smallest with no error at all (or the fewest errors reached)."""
    groups: dict[tuple[str, str], list[CurvePoint]] = {}
    for point in points:
        groups.setdefault((point.family, point.sampling), []).append(point)
    sentences = []
    for (family, sampling), group in groups.items():
        group = sorted(group, key=lambda p: p.share)
        unit = f"{group[0].far_margin:g} {group[0].margin_unit}"
        head = f"{family}, {sampling} sampling: "
        no_far = next((p for p in group if p.far_errors == 0), None)
        exact = next((p for p in group if p.errors == 0), None)
        if exact is not None:
            sentences.append(
                f"{head}{_share_text(exact.share)} ({exact.train_colours:,} colours) is enough "
                f"for no error on the {exact.held_out_colours:,} colours it never saw."
            )
            continue
        fewest = min(group, key=lambda p: (p.errors, p.share))
        if no_far is None:
            sentences.append(
                f"{head}even {_share_text(group[-1].share)} leaves far errors (|margin| >= "
                f"{unit}): {group[-1].far_errors:,} of {group[-1].errors:,}."
            )
            continue
        sentences.append(
            f"{head}{_share_text(no_far.share)} ({no_far.train_colours:,} colours) is enough "
            f"for no far error (|margin| >= {unit}; {no_far.errors:,} errors near the "
            f"boundary); the fewest errors, {fewest.errors:,}, at {_share_text(fewest.share)}."
        )
    return sentences
