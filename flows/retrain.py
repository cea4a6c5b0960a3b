"""The `retrain` flow, the main job: generate (or reuse) data, train a challenger, evaluate it
over the cube, compare it with the champion, promote it only if it is better, report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from flows.evaluate import assess_model_task
from flows.generate import generate_dataset
from flows.train import train_model_task
from fontpipe.assess import cube_headline
from fontpipe.generate import GenerateConfig, default_dataset_name
from fontpipe.promotion import PromotionPolicy
from fontpipe.registry import champion, promote_if_better
from fontpipe.settings import Settings
from fontpipe.train import OriginalRecipe, TrainConfig

# The defaults reach zero cube errors on the mean rule in well under a minute on 2 CPU cores.
DEFAULT_GENERATE = GenerateConfig(rows=1_000_000, sampling="boundary")


@task(name="promote-if-better")
def promote_task(
    models_dir: str, version: str, headline: dict[str, Any], rule: str, policy: PromotionPolicy
) -> dict[str, Any]:
    decision, previous, previous_headline = promote_if_better(
        Path(models_dir),
        version,
        headline,
        lambda current: cube_headline(Path(models_dir) / current, rule),
        policy,
    )
    return {
        "promoted": decision.promote,
        "reason": decision.reason,
        "previous_champion": previous,
        "champion_metrics": previous_headline,
    }


@task(name="publish-retrain-summary")
def publish_retrain_summary(outcome: dict[str, Any]) -> None:
    h = outcome["challenger_metrics"]
    verdict = "promoted" if outcome["promoted"] else "not promoted"
    create_markdown_artifact(
        key="retrain-summary",
        markdown=(
            f"# Retrain: challenger `{outcome['challenger']}` {verdict}\n\n"
            f"- reason: {outcome['reason']}\n"
            f"- champion now: `{outcome['champion']}` (before: `{outcome['previous_champion']}`)\n"
            f"- challenger: {h['errors']:,} cube errors, accuracy {h['accuracy']:.6%}, boundary band {h['boundary_accuracy']:.4%}\n"
            f"- report: `{outcome['report']}`\n"
        ),
    )
    create_table_artifact(
        key="retrain-metrics",
        table=[{"model": "challenger", **h}]
        + (
            [{"model": "champion before", **outcome["champion_metrics"]}]
            if outcome.get("champion_metrics")
            else []
        ),
    )
    create_link_artifact(
        key="retrain-report",
        link=Path(outcome["report"]).resolve().as_uri(),
        link_text="evaluation report",
    )


@flow(name="retrain", log_prints=True)
def retrain(
    generate: GenerateConfig = DEFAULT_GENERATE,
    train: TrainConfig = TrainConfig(),
    policy: PromotionPolicy = PromotionPolicy(),
    baseline: bool = True,
    recipe: OriginalRecipe = OriginalRecipe(),
) -> dict[str, Any]:
    settings = Settings.from_env()
    models_dir = settings.models_dir
    dataset = generate_dataset(
        **generate.model_dump(), out=str(settings.datasets_dir / default_dataset_name(generate))
    )
    trained = train_model_task(dataset["path"], train, str(models_dir))
    version = trained["version"]
    report = settings.reports_dir / version / "report.html"
    assessed = assess_model_task(
        trained["path"], generate.rule, dataset["path"], str(report), recipe if baseline else None
    )
    decision = promote_task(
        str(models_dir), version, assessed["metrics"]["headline"], generate.rule, policy
    )
    outcome = {
        "challenger": version,
        "promoted": decision["promoted"],
        "reason": decision["reason"],
        "previous_champion": decision["previous_champion"],
        "champion": champion(models_dir),
        "challenger_metrics": assessed["metrics"]["headline"],
        "champion_metrics": decision["champion_metrics"],
        "report": str(report),
        "dataset": dataset["path"],
    }
    publish_retrain_summary(outcome)
    print(
        f"challenger {version}: {'promoted' if decision['promoted'] else 'not promoted'} ({decision['reason']})"
    )
    return outcome


def main() -> None:
    from fontpipe.console import console
    from fontpipe.report_text import retrain_summary_table

    outcome = retrain()
    console.print(retrain_summary_table(outcome))


if __name__ == "__main__":
    main()
