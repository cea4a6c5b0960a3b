"""The `evaluate_model` flow: cube metrics, baselines, HTML report, Prefect artifacts."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from pydantic import BaseModel, ConfigDict

from fontpipe.evaluation.evaluate_version import (
    EvaluationMetrics,
    compare_evaluation_with_champion,
    evaluate_version,
)
from fontpipe.evaluation.report import (
    check_report_target,
    default_report_path,
    write_comparison,
    write_report,
)
from fontpipe.promotion import ChampionComparison
from fontpipe.registry import resolve_model
from fontpipe.schema import DEFAULT_ANSWER_RULE
from fontpipe.settings import Settings
from fontpipe.summaries import evaluation_markdown
from fontpipe.training import OriginalRecipe


class EvaluationReport(BaseModel):
    """What the evaluation task hands on: the metrics and where the files went."""

    model_config = ConfigDict(frozen=True)

    metrics: EvaluationMetrics
    report: str
    metrics_path: str


@task(name="assess-model", timeout_seconds=2 * 3600)
def assess_model_task(
    version_path: str,
    rule: str | None,
    dataset: str | None,
    report: str,
    recipe: OriginalRecipe | None,
) -> EvaluationReport:
    evaluation = evaluate_version(
        Path(version_path),
        rule_name=rule,
        dataset_path=Path(dataset) if dataset else None,
        recipe=recipe,
    )
    metrics_path = write_report(evaluation, Path(report))
    return EvaluationReport(
        metrics=evaluation.metrics, report=report, metrics_path=str(metrics_path)
    )


@task(name="publish-evaluation")
def publish_evaluation(assessed: EvaluationReport) -> None:
    create_markdown_artifact(
        markdown=evaluation_markdown(assessed.metrics) + f"\nreport: `{assessed.report}`\n",
        key="evaluation-summary",
    )
    create_table_artifact(
        table=[band.model_dump() for band in assessed.metrics.cube.bands],
        key="evaluation-bands",
        description="accuracy by distance to the boundary",
    )
    create_markdown_artifact(
        markdown=report_location_markdown(assessed.report), key="evaluation-report"
    )


def report_location_markdown(report: str) -> str:
    """Where the HTML report is, in words a person on another machine can act on: a file:// link
    in the UI would point into the UI's machine, not the one that wrote the report."""
    import socket

    return (
        f"# HTML report\n\nWritten to `{Path(report).resolve()}` on host `{socket.gethostname()}` "
        "(a self-contained file: copy it anywhere and open it in a browser). The key figures are "
        "in the `evaluation-summary` artifact.\n"
    )


@flow(name="evaluate_model", log_prints=True)
def evaluate_model(
    model: str = "champion",
    rule: str | None = None,
    dataset: str | None = None,
    report: str | None = None,
    baseline: bool = True,
    models_dir: str | None = None,
    recipe: OriginalRecipe | None = None,
) -> EvaluationReport:
    settings = Settings.from_env()
    version_path = resolve_model(
        model, Path(models_dir) if models_dir else settings.models_dir, rule or DEFAULT_ANSWER_RULE
    )
    target = check_report_target(
        Path(report) if report else default_report_path(settings.reports_dir, version_path.name)
    )
    assessed = assess_model_task(
        str(version_path),
        rule,
        dataset,
        str(target),
        (recipe or OriginalRecipe()) if baseline else None,
    )
    publish_evaluation(assessed)
    compare_task(str(models_dir if models_dir else settings.models_dir), assessed)
    print(f"report written to {assessed.report}")
    return assessed


@task(name="compare-with-champion")
def compare_task(models_dir: str, assessed: EvaluationReport) -> ChampionComparison:
    """The report's champion section: what promotion would decide, nothing promoted."""
    comparison = compare_evaluation_with_champion(Path(models_dir), assessed.metrics)
    write_comparison(Path(assessed.report), comparison)
    return comparison


if __name__ == "__main__":
    evaluate_model()
