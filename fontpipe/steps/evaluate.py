"""The evaluate step: a version over all 16,777,216 colours, beside its rule's champion, into the
HTML report and `metrics.json`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from fontpipe.data.datasets import (
    open_dataset,
)
from fontpipe.errors import FontpipeError
from fontpipe.evaluation.evaluate_version import (
    EvaluationMetrics,
    compare_evaluation_with_champion,
    evaluate_version,
)
from fontpipe.evaluation.learning_curve import (
    LEARNING_CURVE_FILE,
)
from fontpipe.evaluation.report import (
    check_report_target,
    default_report_path,
    write_report,
)
from fontpipe.quiet import quiet_tensorflow
from fontpipe.records import Headline
from fontpipe.registry.champions import (
    promote,
    resolve_model,
)
from fontpipe.registry.promotion import ChampionComparison
from fontpipe.registry.versions import read_evaluation, read_metadata
from fontpipe.schema import DEFAULT_ANSWER_RULE
from fontpipe.settings import Settings
from fontpipe.steps import Status, silent
from fontpipe.training.recipes import Recipe


class EvaluateRequest(BaseModel):
    """What to evaluate and what to write."""

    model_config = ConfigDict(frozen=True)

    model: str = "champion"  # champion, a version name, or a version directory
    rule: str | None = None  # None: the version's own rule
    dataset: Path | None = None  # also measure this dataset's test split
    report: Path | None = None  # None: data/reports/<version>/report.html
    write_report: bool = True
    recipe: Recipe | None = Recipe()  # the question's recipe, as a reference
    compare: bool = True  # put the comparison with the champion in the report


@dataclass(frozen=True)
class EvaluatedModel:
    metrics: EvaluationMetrics
    report: Path | None  # the HTML report, when one was written
    metrics_path: Path | None  # metrics.json beside it
    comparison: ChampionComparison | None = None


def run(request: EvaluateRequest, settings: Settings, *, status: Status = silent) -> EvaluatedModel:
    """Evaluate a version over all 16,777,216 colours (and a test split), compare it with its
    rule's champion (nothing is promoted), and write the HTML report and `metrics.json`."""
    version_path = resolve_model(
        request.model, settings.models_dir, request.rule or DEFAULT_ANSWER_RULE
    )
    if request.dataset is not None:
        open_dataset(request.dataset)  # a broken dataset is refused before the long work
    target = None
    if request.write_report:
        target = check_report_target(
            request.report or default_report_path(settings.reports_dir, version_path.name)
        )
    quiet_tensorflow()
    evaluation = evaluate_version(
        version_path,
        rule_name=request.rule,
        dataset_path=request.dataset,
        recipe=request.recipe,
        progress=lambda step: status(f"evaluating: {step}"),
    )
    comparison = None
    if request.compare:
        status("comparing with the champion")
        comparison = compare_evaluation_with_champion(settings.models_dir, evaluation.metrics)
    metrics_path = None
    if target is not None:
        status("writing the report")
        learning_curve = settings.reports_dir / LEARNING_CURVE_FILE
        metrics_path = write_report(evaluation, target, comparison, learning_curve)
    return EvaluatedModel(evaluation.metrics, target, metrics_path, comparison)


@dataclass(frozen=True)
class HandPromotion:
    """A promotion by hand: the log's entry, and the evaluation it took when there was none."""

    entry: dict[str, Any]
    headline: Headline  # the figures recorded with the promotion
    evaluated: EvaluatedModel | None  # None: the version's own evaluation was on record


def recorded_headline(version_path: Path) -> Headline | None:
    """The headline of the version's last evaluation against its own rule (or family), or None
    when it was never evaluated so."""
    recorded = read_evaluation(version_path)
    if recorded is None or recorded.get("rule") != read_metadata(version_path).rule:
        return None
    try:
        return Headline.model_validate({k: v for k, v in recorded.items() if k != "rule"})
    except ValidationError:
        return None  # written by another release: evaluated again, not trusted


def promote_by_hand(
    reference: str, settings: Settings, *, evaluate: bool = True, status: Status = silent
) -> HandPromotion:
    """Make a version the champion of its own rule. A version never evaluated is evaluated
    first (over the cube, or on its held-out human labels; no recipe, no report), so that the
    promotion records figures and a diverged model is refused; with `evaluate` False it is
    refused instead, saying how to evaluate it."""
    path = resolve_model(reference, settings.models_dir)
    headline = recorded_headline(path)
    evaluated = None
    if headline is None:
        how = f"`fontpipe evaluate --model {path}` evaluates it"
        if not evaluate:
            raise FontpipeError(
                f"{path.name} was never evaluated, so there is nothing to promote it on: {how} "
                "(or promote it without --no-evaluate, which evaluates it first)"
            )
        request = EvaluateRequest(model=str(path), recipe=None, write_report=False, compare=False)
        try:
            evaluated = run(request, settings, status=status)
        except FontpipeError as exc:
            raise FontpipeError(
                f"{path.name} was never evaluated and could not be ({exc}); nothing was promoted. "
                f"{how} once what it needs is back"
            ) from None
        headline = evaluated.metrics.headline
    entry = promote(path.parent, path.name, metrics=headline)
    return HandPromotion(entry, headline, evaluated)
