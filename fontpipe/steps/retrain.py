"""The retrain step: one rule's champion/challenger round, and the rules a retrain runs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from fontpipe.color.rules import get_rule
from fontpipe.data.datasets import (
    Dataset,
    DatasetRef,
    default_dataset_path,
    write_dataset,
)
from fontpipe.data.generation import GenerateConfig
from fontpipe.evaluation.evaluate_version import (
    cube_headline,
)
from fontpipe.evaluation.report import (
    default_report_path,
    write_comparison,
)
from fontpipe.records import Headline
from fontpipe.registry.champions import (
    PromotionOutcome,
    champion,
    identical_to_champion,
    promote_if_better,
)
from fontpipe.registry.promotion import ChampionComparison, PromotionPolicy, RetrainOutcome
from fontpipe.registry.versions import ModelVersion, remove_version
from fontpipe.settings import Settings
from fontpipe.steps import Status, silent
from fontpipe.steps import evaluate as evaluate_step
from fontpipe.steps import train as train_step
from fontpipe.steps.evaluate import EvaluatedModel, EvaluateRequest
from fontpipe.training.config import TrainConfig
from fontpipe.training.recipes import OriginalRecipe


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
    recipe: OriginalRecipe | None,
    settings: Settings,
    *,
    runners: RetrainRunners = RetrainRunners(),
    status: Status = silent,
) -> RetrainOutcome:
    """One rule's champion/challenger round: data, a challenger, its evaluation over the cube,
    the comparison with that rule's champion, promotion only if it is better."""
    rule, models_dir = generate_config.rule, settings.models_dir
    status("generating data")
    dataset = runners.make_dataset(
        generate_config, default_dataset_path(settings.datasets_dir, generate_config)
    )
    status("training")
    challenger = runners.train(str(dataset.path), train_config, models_dir)
    twin = identical_to_champion(models_dir, challenger)
    if twin is not None:
        remove_version(models_dir, challenger.name)
        return RetrainOutcome(
            rule=rule,
            challenger=challenger.name,
            promoted=False,
            reason=f"identical to the champion {twin} (same weights); not stored twice",
            previous_champion=twin,
            champion=twin,
            challenger_metrics=cube_headline(models_dir / twin, rule),
            champion_metrics=None,
            report=str(default_report_path(settings.reports_dir, twin)),
            dataset=str(dataset.path),
        )
    status("evaluating over the cube")
    request = EvaluateRequest(
        model=str(challenger.path),
        rule=rule,
        dataset=Path(dataset.path),
        recipe=recipe,
        compare=False,  # the decision below is the comparison
    )
    evaluated = runners.evaluate(request, settings)
    headline = evaluated.metrics.headline
    status("comparing with the champion")
    promotion = runners.promote(models_dir, challenger, headline, rule, policy)
    decision = ChampionComparison(
        rule=rule,
        challenger=challenger.name,
        champion=promotion.previous_champion,
        challenger_metrics=headline,
        champion_metrics=promotion.previous_headline,
        promote=promotion.decision.promote,
        reason=promotion.decision.reason,
        acted=True,
    )
    if evaluated.report is not None:
        write_comparison(evaluated.report, decision)
    return RetrainOutcome(
        rule=rule,
        challenger=challenger.name,
        promoted=promotion.decision.promote,
        reason=promotion.decision.reason,
        previous_champion=promotion.previous_champion,
        champion=champion(models_dir, rule),
        challenger_metrics=headline,
        champion_metrics=promotion.previous_headline,
        report=str(evaluated.report),
        dataset=str(dataset.path),
    )


def each_rule(rules: Iterable[str]) -> tuple[str, ...]:
    """The rules of a retrain, each checked by name before any work starts."""

    return tuple(get_rule(rule).name for rule in rules)
