"""Evaluate a saved model version: its cube table against a rule, the rule itself and the
original recipe as baselines, and the held-out test split of a dataset.

The pure metrics live in `fontpipe.evaluation.metrics`; the HTML report in
`fontpipe.evaluation.report`. This module loads what it needs through `fontpipe.registry.versions` and
`fontpipe.data.datasets`, and returns typed results (`EvaluationMetrics` is what `metrics.json` holds).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from fontpipe.color.cube import CubeTable, compute_cube_table, lookup_p_black, probability_function
from fontpipe.color.rules import Rule, get_rule
from fontpipe.data.datasets import open_dataset, read_split_arrays
from fontpipe.data.seen import seen_colours
from fontpipe.errors import FontpipeError
from fontpipe.evaluation.metrics import (
    Band,
    CubeEvaluation,
    GreyRamp,
    ReliabilityBin,
    SplitEvaluation,
    evaluate_cube,
    evaluate_split,
    rule_cube_table,
)
from fontpipe.records import Headline
from fontpipe.registry.champions import compare_with_champion
from fontpipe.registry.promotion import ChampionComparison, PromotionPolicy, decide_promotion
from fontpipe.registry.versions import (
    ModelVersion,
    VersionMetadata,
    ensure_cube_table,
    load_version,
    open_version,
    write_evaluation,
)
from fontpipe.schema import black_text, is_human_rule
from fontpipe.training.recipes import RECIPE_NAMES, Recipe, train_recipe

Progress = Callable[[str], None]


class PSpread(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    min: float
    max: float
    std: float


def p_black_spread(table: CubeTable) -> PSpread:
    """P(black)'s range and standard deviation over all 16,777,216 colours."""
    low, high, total, squares = np.inf, -np.inf, 0.0, 0.0
    for start in range(0, len(table), 1 << 22):
        chunk = np.asarray(table[start : start + (1 << 22)], dtype=np.float64)
        low, high = min(low, float(chunk.min())), max(high, float(chunk.max()))
        total += float(chunk.sum())
        squares += float(np.square(chunk).sum())
    mean = total / len(table)
    return PSpread(min=low, max=high, std=float(np.sqrt(max(squares / len(table) - mean**2, 0.0))))


class BaselineSummary(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    headline: Headline
    bands: list[Band]
    grey_ramp: GreyRamp
    reliability: list[ReliabilityBin]
    ece: float
    margin_unit: str
    # How far P(black) moves over the cube: the question's recipe barely moves it.
    p_black_spread: PSpread | None = None

    @classmethod
    def of(cls, evaluation: CubeEvaluation, spread: PSpread | None = None) -> BaselineSummary:
        return cls(
            p_black_spread=spread,
            headline=evaluation.headline(),
            bands=evaluation.bands,
            grey_ramp=evaluation.grey_ramp,
            reliability=evaluation.reliability,
            ece=evaluation.ece,
            margin_unit=evaluation.margin_unit,
        )


class TestSplitEvaluation(SplitEvaluation):
    __test__ = False  # not a pytest test class, whatever its name

    dataset: str
    fingerprint: str


class HumanEvaluation(BaseModel):
    """A human-label model (rule `human:<name>`): its accuracy on the held-out human labels,
    which is what promotion compares in its family, and how far it departs from the prior."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: str
    prior_rule: str
    test_rows: int
    test_accuracy: float
    test_errors: int
    departure_share: float  # share of the cube where the model and the prior rule disagree
    headline: Headline  # held-out accuracy and errors; AA share and minimum contrast over the cube


class EvaluationMetrics(BaseModel):
    """Everything one evaluation found: the content of `metrics.json`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    rule: str
    family: str | None = None  # the registry family when it is not `rule` (human:<name>)
    human: HumanEvaluation | None = None
    generated: str
    headline: Headline
    cube: CubeEvaluation
    baselines: dict[str, BaselineSummary]
    test_split: TestSplitEvaluation | None
    model_metadata: VersionMetadata
    timings: dict[str, float]
    beats_answer_recipe: bool | None = None


@dataclass(frozen=True)
class Evaluation:
    """An evaluation with the cube table it was computed from (for the report's figures)."""

    version: ModelVersion
    rule: Rule
    table: CubeTable
    metrics: EvaluationMetrics
    model: Any  # the verified Keras model, loaded once (the report embeds its weights)


def evaluate_version(
    version_path: Path,
    *,
    rule_name: str | None = None,
    dataset_path: Path | None = None,
    recipe: Recipe | None = Recipe(),
    progress: Progress | None = None,
) -> Evaluation:
    """Evaluate one version over the cube against `rule_name` (default: the rule it was trained on),
    on a dataset's test split when given, beside the rule itself and the original recipe."""
    say = progress or (lambda _: None)
    loaded = load_version(version_path)
    version = loaded.version
    human = is_human_rule(version.rule)
    # A human-label model is measured over the cube against its prior rule (where it departs
    # from it), and on its held-out human labels (what its family promotes on).
    rule = get_rule(rule_name or (prior_rule(version) if human else version.rule))
    timings: dict[str, float] = {}

    started = time.perf_counter()
    say("cube table")
    table = ensure_cube_table(version, loaded.model)
    timings["cube_table_s"] = time.perf_counter() - started
    started = time.perf_counter()
    say("colours it trained and validated on")
    seen = training_colours(version)
    say("metrics over the held-out colours of the cube")
    evaluation = evaluate_cube(table, rule, seen)
    timings["evaluate_s"] = time.perf_counter() - started
    if rule.name == version.rule:
        write_evaluation(version, evaluation.headline(), rule.name)

    say("the rule as a reference")
    baselines = {"rule": BaselineSummary.of(evaluate_cube(rule_cube_table(rule), rule, seen))}
    if recipe is not None:
        for name in RECIPE_NAMES:
            say(f"training the {name}'s recipe")
            recipe_model, recipe_seconds = train_recipe(
                recipe.model_copy(update={"rule": rule.name, "name": name})
            )
            recipe_table = compute_cube_table(recipe_model)
            baselines[f"{name}_recipe"] = BaselineSummary.of(
                evaluate_cube(recipe_table, rule, seen), p_black_spread(recipe_table)
            )
            timings[f"{name}_recipe_train_s"] = recipe_seconds

    human_evaluation = None
    if human:
        say("held-out human labels")
        human_evaluation = evaluate_human_labels(version, table, evaluation, dataset_path)
        write_evaluation(version, human_evaluation.headline, version.rule)
    test_split = None
    if dataset_path is not None and not human:
        say("held-out test split")
        test_split = evaluate_test_split(dataset_path, table, loaded.model, rule)

    recipe_summary = baselines.get("answer_recipe")
    metrics = EvaluationMetrics(
        version=version.name,
        rule=rule.name,
        family=version.rule if human else None,
        human=human_evaluation,
        generated=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        headline=human_evaluation.headline if human_evaluation else evaluation.headline(),
        cube=evaluation,
        baselines=baselines,
        test_split=test_split,
        model_metadata=version.metadata,
        timings=timings,
        beats_answer_recipe=None
        if recipe_summary is None
        else decide_promotion(
            evaluation.headline(), recipe_summary.headline, PromotionPolicy()
        ).promote,
    )
    return Evaluation(version=version, rule=rule, table=table, metrics=metrics, model=loaded.model)


def evaluate_test_split(
    dataset_path: Path, table: CubeTable, model: Any, rule: Rule
) -> TestSplitEvaluation:

    dataset = open_dataset(dataset_path)
    rgb, _ = read_split_arrays(dataset, "test")
    if len(rgb) == 0:
        raise FontpipeError(f"{dataset_path}: the test split is empty")
    if dataset.sampling == "uniform-float":
        p_black = probability_function(model)(rgb)
    else:
        p_black = lookup_p_black(table, rgb.astype(np.uint8))
    return TestSplitEvaluation(
        dataset=dataset.location,
        fingerprint=dataset.fingerprint,
        **evaluate_split(p_black, rgb, rule).model_dump(),
    )


def prior_rule(version: ModelVersion) -> str:
    """The rule a human-label model was mixed with (wcag when none was)."""
    prior = version.metadata.config.get("prior")
    return str(prior) if prior else "wcag"


def evaluate_human_labels(
    version: ModelVersion,
    table: CubeTable,
    against_prior: CubeEvaluation,
    dataset_path: Path | None = None,
) -> HumanEvaluation:
    """Accuracy on the human labels of the test split (of the dataset it trained on, unless
    another is given), and the cube share where the model departs from its prior rule."""

    dataset = open_dataset(dataset_path or version.metadata.dataset.path)
    rgb, label = read_split_arrays(dataset, "test")
    if not len(label):
        raise FontpipeError(f"{dataset.location}: the test split is empty")
    predicted = black_text(lookup_p_black(table, rgb.astype(np.uint8)))
    errors = int(np.count_nonzero(predicted != (label == 1)))
    accuracy = 1 - errors / len(label)
    cube = against_prior.headline()
    return HumanEvaluation(
        dataset=dataset.location,
        prior_rule=against_prior.rule,
        test_rows=len(label),
        test_accuracy=accuracy,
        test_errors=errors,
        departure_share=against_prior.errors / against_prior.colours,
        headline=Headline(
            accuracy=accuracy,
            errors=errors,
            boundary_accuracy=None,
            ece=cube.ece,
            aa_share=cube.aa_share,
            min_contrast=cube.min_contrast,
        ),
    )


def family_headline(version: ModelVersion | Path, family: str) -> Headline:
    """What promotion compares within a family: cube metrics against a rule, or for a
    human-label family the held-out human accuracy."""
    verified = version if isinstance(version, ModelVersion) else open_version(version)
    if not is_human_rule(family):
        return cube_headline(verified, family)
    table = ensure_cube_table(verified)
    prior = evaluate_cube(table, get_rule(prior_rule(verified)))
    return evaluate_human_labels(verified, table, prior).headline


def cube_headline(version: ModelVersion | Path, rule_name: str) -> Headline:
    """A version's headline metrics against a rule over the colours it never saw, from its cube
    table (computed if missing)."""
    # open_version verifies the model: never compare against (or keep) a tampered champion.
    verified = version if isinstance(version, ModelVersion) else open_version(version)
    table = ensure_cube_table(verified)
    return evaluate_cube(table, get_rule(rule_name), training_colours(verified)).headline()


def training_colours(version: ModelVersion) -> npt.NDArray[np.bool_] | None:
    """The colours of the version's train and val splits, or None when its dataset is gone or
    is not the one it recorded (its figures are then over the whole cube, and say so)."""
    info = version.metadata.dataset
    try:
        return seen_colours(info.path, info.fingerprint)
    except FontpipeError:
        return None


def compare_evaluation_with_champion(
    models_dir: Path, metrics: EvaluationMetrics, policy: PromotionPolicy | None = None
) -> ChampionComparison:
    """An evaluated version beside its rule's champion, on the same rule: what promotion would
    decide (nothing is promoted)."""

    family = metrics.family or metrics.rule
    return compare_with_champion(
        models_dir,
        metrics.version,
        metrics.headline,
        family,
        lambda current: family_headline(current, family),
        policy or PromotionPolicy(),
    )
