"""The `retrain` flow, the main job: generate (or reuse) data, train a challenger, evaluate it
over the cube, compare it with the champion, promote it only if it is better, report."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.evaluate import assess_model_task, publish_evaluation
from flows.generate import make_dataset
from flows.train import publish_training_summary, train_model_task
from fontpipe.datasets import default_dataset_path
from fontpipe.evaluation.evaluate_version import cube_headline
from fontpipe.evaluation.metrics import Headline
from fontpipe.evaluation.report import default_report_path, write_comparison
from fontpipe.generation import GenerateConfig
from fontpipe.model import ModelConfig
from fontpipe.promotion import (
    ChampionComparison,
    PromotionPolicy,
    RetrainOutcome,
    RetrainReport,
    outcome_line,
)
from fontpipe.registry import (
    PromotionOutcome,
    PrunePlan,
    RetentionPolicy,
    champion,
    identical_to_champion,
    promote_if_better,
    prune_versions,
)
from fontpipe.rules import get_rule
from fontpipe.schema import RULE_NAMES
from fontpipe.settings import Settings
from fontpipe.summaries import retrain_markdown
from fontpipe.training import OriginalRecipe, TrainConfig
from fontpipe.versions import ModelVersion, remove_version

# The defaults reach zero errors over the whole cube for every rule (mean, wcag, yiq), each in
# about 10-15 s of training on 2 CPU cores: the channel-table model, fitted by Newton's method
# on the whole cube (the train split of `cube` sampling), with 100,000 random colours each for
# validation and test.
DEFAULT_GENERATE = GenerateConfig(rows=200_000, sampling="cube")
DEFAULT_TRAIN = TrainConfig(model=ModelConfig(architecture="channel-tables"))


# Where a run is, for a terminal: the command line sets a hook here and draws it; a run from a
# deployment has none and its logs tell the same.
retrain_progress: ContextVar[Callable[[str, str], None] | None] = ContextVar(
    "retrain_progress", default=None
)


def _progress(rule: str, step: str) -> None:
    hook = retrain_progress.get()
    if hook is not None:
        hook(rule, step)


@task(name="promote-if-better")
def promote_task(
    models_dir: str,
    challenger: ModelVersion,
    headline: Headline,
    rule: str,
    policy: PromotionPolicy,
) -> PromotionOutcome:
    return promote_if_better(
        Path(models_dir),
        challenger,
        headline,
        lambda current: cube_headline(current, rule),
        policy,
    )


@task(name="record-decision-in-report")
def record_decision_task(report: str, comparison: ChampionComparison) -> None:
    write_comparison(Path(report), comparison)


@task(name="drop-identical-challenger")
def drop_identical_task(models_dir: str, challenger: ModelVersion) -> str | None:
    """The champion's name if the challenger has exactly its weights; the duplicate is deleted."""
    twin = identical_to_champion(Path(models_dir), challenger)
    if twin is not None:
        remove_version(Path(models_dir), challenger.name)
    return twin


@task(name="apply-retention")
def retention_task(models_dir: str, policy: RetentionPolicy) -> PrunePlan:
    return prune_versions(Path(models_dir), policy)


@task(name="publish-retrain-summary")
def publish_retrain_summary(report: RetrainReport, pruned: PrunePlan) -> None:
    kept = f"{len(pruned.kept) + len(pruned.protected)} versions kept"
    removed = (
        f"{len(pruned.removed)} deleted, {len(pruned.cube_tables_dropped)} cube tables dropped"
    )
    create_markdown_artifact(
        key="retrain-summary",
        markdown="\n".join(retrain_markdown(o) for o in report.outcomes)
        + f"\n- registry: {kept}; {removed}\n",
    )
    rows = []
    for outcome in report.outcomes:
        rows.append(
            {"rule": outcome.rule, "model": "challenger", **outcome.challenger_metrics.model_dump()}
        )
        if outcome.champion_metrics:
            rows.append(
                {
                    "rule": outcome.rule,
                    "model": "champion before",
                    **outcome.champion_metrics.model_dump(),
                }
            )
    create_table_artifact(key="retrain-metrics", table=rows)


@flow(name="retrain", log_prints=True)
def retrain(
    generate: GenerateConfig = DEFAULT_GENERATE,
    train: TrainConfig = DEFAULT_TRAIN,
    policy: PromotionPolicy = PromotionPolicy(),
    baseline: bool = True,
    recipe: OriginalRecipe = OriginalRecipe(),
    retention: RetentionPolicy = RetentionPolicy(),
    rules: tuple[str, ...] = RULE_NAMES,
) -> RetrainReport:
    """Keep every rule's champion current: one champion/challenger round per rule in `rules`
    (each a subflow, on `generate` with that rule), then the retention policy."""
    for rule in rules:
        get_rule(rule)  # an unknown name fails here, before any work
    outcomes = [
        retrain_rule(generate.model_copy(update={"rule": rule}), train, policy, baseline, recipe)
        for rule in rules
    ]
    pruned = retention_task(str(Settings.from_env().models_dir), retention)
    report = RetrainReport(outcomes=outcomes)
    publish_retrain_summary(report, pruned)
    for outcome in outcomes:
        print(outcome_line(outcome))
    return report


@flow(name="retrain_rule", log_prints=True)
def retrain_rule(
    generate: GenerateConfig,
    train: TrainConfig,
    policy: PromotionPolicy,
    baseline: bool,
    recipe: OriginalRecipe,
) -> RetrainOutcome:
    """One rule's round: data, a challenger, its evaluation, the comparison with that rule's
    champion, promotion only if better."""
    settings = Settings.from_env()
    models_dir = settings.models_dir
    _progress(generate.rule, "generating data")
    dataset = make_dataset(generate, str(default_dataset_path(settings.datasets_dir, generate)))
    _progress(generate.rule, "training")
    challenger = train_model_task(dataset.path, train, str(models_dir))
    publish_training_summary(challenger)
    twin = drop_identical_task(str(models_dir), challenger)
    if twin is None:
        return evaluate_and_promote(
            challenger, dataset.path, generate.rule, policy, recipe if baseline else None, settings
        )
    return RetrainOutcome(
        rule=generate.rule,
        challenger=challenger.name,
        promoted=False,
        reason=f"identical to the champion {twin} (same weights); not stored twice",
        previous_champion=twin,
        champion=twin,
        challenger_metrics=cube_headline(models_dir / twin, generate.rule),
        champion_metrics=None,
        report=str(default_report_path(settings.reports_dir, twin)),
        dataset=dataset.path,
    )


def evaluate_and_promote(
    challenger: ModelVersion,
    dataset: str,
    rule: str,
    policy: PromotionPolicy,
    recipe: OriginalRecipe | None,
    settings: Settings,
) -> RetrainOutcome:
    """The champion/challenger round: evaluate over the cube, compare, promote if better."""
    report = default_report_path(settings.reports_dir, challenger.name)
    _progress(rule, "evaluating over the cube")
    assessed = assess_model_task(str(challenger.path), rule, dataset, str(report), recipe)
    publish_evaluation(assessed)
    headline = assessed.metrics.headline
    _progress(rule, "comparing with the champion")
    promotion = promote_task(str(settings.models_dir), challenger, headline, rule, policy)
    record_decision_task(
        str(report),
        ChampionComparison(
            rule=rule,
            challenger=challenger.name,
            champion=promotion.previous_champion,
            challenger_metrics=headline,
            champion_metrics=promotion.previous_headline,
            promote=promotion.decision.promote,
            reason=promotion.decision.reason,
            acted=True,
        ),
    )
    return RetrainOutcome(
        rule=rule,
        challenger=challenger.name,
        promoted=promotion.decision.promote,
        reason=promotion.decision.reason,
        previous_champion=promotion.previous_champion,
        champion=champion(settings.models_dir, rule),
        challenger_metrics=headline,
        champion_metrics=promotion.previous_headline,
        report=str(report),
        dataset=dataset,
    )


if __name__ == "__main__":
    print(retrain().model_dump_json(indent=2))
