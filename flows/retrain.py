"""The `retrain` flow, the main job: for each rule, one champion/challenger round
(`fontpipe.steps.retrain`: data, a challenger, its evaluation over the cube, promotion only
if it is better), its sub-steps run as Prefect tasks; then the retention policy and artifacts."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.evaluate import EvaluationReport, evaluate_task, publish_evaluation
from flows.generate import make_dataset
from flows.train import publish_training_summary, train_model_task
from fontpipe.data.generation import GenerateConfig
from fontpipe.model import ModelConfig
from fontpipe.records import Headline
from fontpipe.registry.champions import PromotionOutcome
from fontpipe.registry.promotion import (
    PromotionPolicy,
    RetrainOutcome,
    RetrainReport,
    outcome_line,
)
from fontpipe.registry.retention import PrunePlan, RetentionPolicy, prune_versions
from fontpipe.registry.versions import ModelVersion
from fontpipe.schema import RULE_NAMES
from fontpipe.settings import Settings
from fontpipe.steps import retrain as retrain_step
from fontpipe.steps.evaluate import EvaluatedModel, EvaluateRequest
from fontpipe.summaries import retrain_markdown
from fontpipe.training.config import TrainConfig
from fontpipe.training.recipes import Recipe

# Without `generate`, each rule learns from `teaching_sample`: 1 % of the cube, drawn afresh for
# every run from its seed (a new one unless given). The channel-table model, fitted by Newton's
# method with the smoothness penalty the validation split chooses.
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
    return retrain_step.promote_challenger(Path(models_dir), challenger, headline, rule, policy)


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
    generate: GenerateConfig | None = None,
    train: TrainConfig = DEFAULT_TRAIN,
    policy: PromotionPolicy = PromotionPolicy(),
    baseline: bool = True,
    recipe: Recipe = Recipe(),
    retention: RetentionPolicy = RetentionPolicy(),
    rules: tuple[str, ...] = RULE_NAMES,
    seed: int | None = None,
) -> RetrainReport:
    """Keep every rule's champion current: one champion/challenger round per rule in `rules`
    (each a subflow, on `generate` with that rule, or on a fresh 1 % sample of the cube drawn
    from `seed`), then the retention policy."""
    rules = retrain_step.each_rule(rules)  # an unknown name fails here, before any work
    run_seed = retrain_step.fresh_seed() if seed is None else seed
    outcomes = [
        retrain_rule(
            generate.model_copy(update={"rule": rule})
            if generate is not None
            else retrain_step.teaching_sample(rule, run_seed),
            train,
            policy,
            baseline,
            recipe,
        )
        for rule in rules
    ]
    pruned = retention_task(str(Settings.from_env().models_dir), retention)
    report = RetrainReport(outcomes=outcomes)
    publish_retrain_summary(report, pruned)
    for outcome in outcomes:
        print(outcome_line(outcome))
    return report


def _train_and_publish(dataset: str, config: TrainConfig, models_dir: Path) -> ModelVersion:
    challenger = train_model_task(dataset, config, str(models_dir))
    publish_training_summary(challenger)
    return challenger


def _evaluate_and_publish(request: EvaluateRequest, settings: Settings) -> EvaluatedModel:
    assessed: EvaluationReport = evaluate_task(request, str(settings.models_dir))
    publish_evaluation(assessed)
    return EvaluatedModel(assessed.metrics, Path(assessed.report), Path(assessed.metrics_path))


TASK_RUNNERS = retrain_step.RetrainRunners(
    make_dataset=lambda config, out: make_dataset(config, str(out)),
    train=_train_and_publish,
    evaluate=_evaluate_and_publish,
    promote=lambda models_dir, challenger, headline, rule, policy: promote_task(
        str(models_dir), challenger, headline, rule, policy
    ),
)


@flow(name="retrain_rule", log_prints=True)
def retrain_rule(
    generate: GenerateConfig,
    train: TrainConfig,
    policy: PromotionPolicy,
    baseline: bool,
    recipe: Recipe,
) -> RetrainOutcome:
    """One rule's round, each sub-step a task of this flow."""
    return retrain_step.run_rule(
        generate,
        train,
        policy,
        recipe if baseline else None,
        Settings.from_env(),
        runners=TASK_RUNNERS,
        status=lambda step: _progress(generate.rule, step),
    )


if __name__ == "__main__":
    print(retrain().model_dump_json(indent=2))
