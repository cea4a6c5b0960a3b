"""The `retrain` flow, the main job: generate (or reuse) data, train a challenger, evaluate it
over the cube, compare it with the champion, promote it only if it is better, report."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from flows.evaluate import assess_model_task
from flows.generate import make_dataset
from flows.train import train_model_task
from fontpipe.datasets import default_dataset_path
from fontpipe.evaluation.evaluate_version import cube_headline
from fontpipe.evaluation.metrics import Headline
from fontpipe.evaluation.report import default_report_path
from fontpipe.generate import GenerateConfig
from fontpipe.promotion import PromotionPolicy, RetrainOutcome
from fontpipe.registry import PromotionOutcome, champion, promote_if_better
from fontpipe.settings import Settings
from fontpipe.summaries import retrain_markdown
from fontpipe.train import OriginalRecipe, TrainConfig
from fontpipe.versions import ModelVersion

# The defaults reach zero cube errors on the mean rule in well under a minute on 2 CPU cores.
DEFAULT_GENERATE = GenerateConfig(rows=1_000_000, sampling="boundary")


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


@task(name="publish-retrain-summary")
def publish_retrain_summary(outcome: RetrainOutcome) -> None:
    create_markdown_artifact(key="retrain-summary", markdown=retrain_markdown(outcome))
    create_table_artifact(
        key="retrain-metrics",
        table=[{"model": "challenger", **outcome.challenger_metrics.model_dump()}]
        + (
            [{"model": "champion before", **outcome.champion_metrics.model_dump()}]
            if outcome.champion_metrics
            else []
        ),
    )
    create_link_artifact(
        key="retrain-report",
        link=Path(outcome.report).resolve().as_uri(),
        link_text="evaluation report",
    )


@flow(name="retrain", log_prints=True)
def retrain(
    generate: GenerateConfig = DEFAULT_GENERATE,
    train: TrainConfig = TrainConfig(),
    policy: PromotionPolicy = PromotionPolicy(),
    baseline: bool = True,
    recipe: OriginalRecipe = OriginalRecipe(),
) -> RetrainOutcome:
    settings = Settings.from_env()
    models_dir = settings.models_dir
    dataset = make_dataset(generate, str(default_dataset_path(settings.datasets_dir, generate)))
    challenger = train_model_task(dataset.path, train, str(models_dir))
    report = default_report_path(settings.reports_dir, challenger.name)
    assessed = assess_model_task(
        str(challenger.path), generate.rule, dataset.path, str(report), recipe if baseline else None
    )
    headline = assessed.metrics.headline
    promotion = promote_task(str(models_dir), challenger, headline, generate.rule, policy)
    outcome = RetrainOutcome(
        challenger=challenger.name,
        promoted=promotion.decision.promote,
        reason=promotion.decision.reason,
        previous_champion=promotion.previous_champion,
        champion=champion(models_dir),
        challenger_metrics=headline,
        champion_metrics=promotion.previous_headline,
        report=str(report),
        dataset=dataset.path,
    )
    publish_retrain_summary(outcome)
    verdict = "promoted" if outcome.promoted else "not promoted"
    print(f"challenger {challenger.name}: {verdict} ({outcome.reason})")
    return outcome


if __name__ == "__main__":
    print(retrain().model_dump_json(indent=2))
