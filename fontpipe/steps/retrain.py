"""The retrain step: one rule's champion/challenger round, and the rules a retrain runs."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from fontpipe.color.rule_cube import cube_aa, cube_labels
from fontpipe.color.rules import get_rule
from fontpipe.data.datasets import (
    Dataset,
    DatasetRef,
    default_dataset_path,
    write_dataset,
)
from fontpipe.data.generation import GenerateConfig, band_width_holding
from fontpipe.evaluation.evaluate_version import (
    cube_headline,
)
from fontpipe.evaluation.report import (
    default_report_path,
    write_comparison,
)
from fontpipe.quiet import quiet_tensorflow
from fontpipe.records import Headline
from fontpipe.registry.champions import (
    PromotionOutcome,
    champion,
    identical_to_champion,
    promote_if_better,
    record_decision,
)
from fontpipe.registry.promotion import ChampionComparison, PromotionPolicy, RetrainOutcome
from fontpipe.registry.versions import ModelVersion, remove_version
from fontpipe.schema import CUBE_SIZE
from fontpipe.settings import Settings
from fontpipe.steps import Status, silent
from fontpipe.steps import evaluate as evaluate_step
from fontpipe.steps import train as train_step
from fontpipe.steps.evaluate import EvaluatedModel, EvaluateRequest
from fontpipe.training.config import TrainConfig
from fontpipe.training.recipes import Recipe

# What a retrain learns from: each rule's challenger trains on 1 % of the cube (167,771 colours,
# with 10 % more for validation and 10 % for test, every colour in one split). Four in five lie
# in a band about the rule's boundary, where the decision is made; the band holds twice the
# colours drawn from it, so half of the boundary's colours stay unseen and the held-out
# figures are measured where errors can happen. The rest are uniform, to pin the far ends of
# the tables. On held-out colours this sampling makes 3-20x fewer errors than a uniform sample
# of the same size (bench/learning_curve.py).
TEACHING_SHARE = 0.01
TEACHING_FRACTIONS = (0.8, 0.1, 0.1)
TEACHING_BOUNDARY_SHARE = 0.8


def teaching_sample(rule: str, seed: int) -> GenerateConfig:
    """The dataset a retrain draws for `rule`, seeded by the run."""
    rows = round(CUBE_SIZE * TEACHING_SHARE / TEACHING_FRACTIONS[0])
    near = rows * TEACHING_BOUNDARY_SHARE
    return GenerateConfig(
        rows=rows,
        rule=rule,
        sampling="boundary",
        seed=seed,
        split_fractions=TEACHING_FRACTIONS,
        boundary_share=TEACHING_BOUNDARY_SHARE,
        boundary_width=band_width_holding(get_rule(rule), 2 * near / CUBE_SIZE),
    )


def fresh_seed() -> int:
    """A new seed for a scheduled run, so each week's challenger learns from new colours; it
    is recorded in the dataset's manifest and the run's outcome."""
    return secrets.randbelow(2**31)


def promote_challenger(
    models_dir: Path,
    challenger: ModelVersion,
    headline: Headline,
    rule: str,
    policy: PromotionPolicy,
) -> PromotionOutcome:
    """Promote the challenger only if it beats `rule`'s champion, measured the same way."""
    return promote_if_better(
        models_dir, challenger, headline, lambda current: cube_headline(current, rule), policy
    )


def _write_dataset(config: GenerateConfig, out: Path) -> Dataset:
    return write_dataset(config, out)[0]


@dataclass(frozen=True)
class RetrainRunners:
    """How a retrain round runs its sub-steps. The defaults call the steps above here; the
    retrain flow passes the same calls wrapped as Prefect tasks (retries, caching, artifacts)."""

    make_dataset: Callable[[GenerateConfig, Path], DatasetRef | Dataset] = _write_dataset
    train: Callable[[str, TrainConfig, Path], ModelVersion] = train_step.run
    evaluate: Callable[[EvaluateRequest, Settings], EvaluatedModel] = evaluate_step.run
    promote: Callable[[Path, ModelVersion, Headline, str, PromotionPolicy], PromotionOutcome] = (
        promote_challenger
    )


def run_rule(
    generate_config: GenerateConfig,
    train_config: TrainConfig,
    policy: PromotionPolicy,
    recipe: Recipe | None,
    settings: Settings,
    *,
    runners: RetrainRunners = RetrainRunners(),
    status: Status = silent,
) -> RetrainOutcome:
    """One rule's champion/challenger round: data, a challenger, its evaluation over the cube,
    the comparison with that rule's champion, promotion only if it is better; the decision,
    promoted or not, is recorded in the registry's history (`record_decision`)."""
    rule, models_dir = generate_config.rule, settings.models_dir
    status("generating data")
    dataset = runners.make_dataset(
        generate_config, default_dataset_path(settings.datasets_dir, generate_config)
    )
    status("training")
    challenger = runners.train(str(dataset.path), train_config, models_dir)
    twin = identical_to_champion(models_dir, challenger)
    status("evaluating over the cube")
    request = EvaluateRequest(
        model=str(challenger.path),
        rule=rule,
        dataset=Path(dataset.path),
        recipe=recipe,
        compare=False,  # the decision below is the comparison
    )
    # A twin is evaluated too, before it goes: its report is the round's record, and the
    # history links to it.
    try:
        evaluated = runners.evaluate(request, settings)
    finally:
        if twin is not None:
            remove_version(models_dir, challenger.name)
    headline = evaluated.metrics.headline
    previous: str | None
    previous_headline: Headline | None
    if twin is not None:
        previous, previous_headline = twin, cube_headline(models_dir / twin, rule)
        promoted, reason = (
            False,
            f"identical to the champion {twin} (same weights); not stored twice",
        )
    else:
        status("comparing with the champion")
        promotion = runners.promote(models_dir, challenger, headline, rule, policy)
        previous, previous_headline = promotion.previous_champion, promotion.previous_headline
        promoted, reason = promotion.decision.promote, promotion.decision.reason
    decision = ChampionComparison(
        rule=rule,
        challenger=challenger.name,
        champion=previous,
        challenger_metrics=headline,
        champion_metrics=previous_headline,
        promote=promoted,
        reason=reason,
        acted=True,
    )
    if evaluated.report is not None:
        write_comparison(evaluated.report, decision)
    outcome = RetrainOutcome(
        rule=rule,
        challenger=challenger.name,
        promoted=promoted,
        reason=reason,
        previous_champion=previous,
        champion=champion(models_dir, rule),
        challenger_metrics=headline,
        champion_metrics=previous_headline,
        report=str(evaluated.report or default_report_path(settings.reports_dir, challenger.name)),
        dataset=str(dataset.path),
        seed=generate_config.seed,
    )
    record_decision(models_dir, outcome, stored=twin is None)
    return outcome


def warm_up(rules: Iterable[str]) -> None:
    """Load TensorFlow and compute what every round's evaluation reads (the cube's luminance,
    AA verdicts and each rule's answers), e.g. in a thread while a Prefect API starts: on 2
    cores the two overlap, and the first round no longer pays for them."""
    quiet_tensorflow()
    cube_aa(True)
    cube_aa(False)
    for rule in rules:
        cube_labels(rule)


def each_rule(rules: Iterable[str]) -> tuple[str, ...]:
    """The rules of a retrain, each checked by name before any work starts."""

    return tuple(get_rule(rule).name for rule in rules)
