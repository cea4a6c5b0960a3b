"""The `evaluate_model` flow: the evaluate step (`fontpipe.steps.evaluate`: cube metrics,
baselines, the comparison with the champion, the HTML report) as a task, then its artifacts."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from pydantic import BaseModel, ConfigDict

from fontpipe.evaluation.evaluate_version import EvaluationMetrics
from fontpipe.settings import Settings
from fontpipe.steps import evaluate as evaluate_step
from fontpipe.summaries import evaluation_markdown
from fontpipe.training.recipes import Recipe


class EvaluationReport(BaseModel):
    """What the evaluation task hands on: the metrics and where the files went."""

    model_config = ConfigDict(frozen=True)

    metrics: EvaluationMetrics
    report: str
    metrics_path: str


@task(name="evaluate-model", timeout_seconds=2 * 3600)
def evaluate_task(
    request: evaluate_step.EvaluateRequest, models_dir: str | None
) -> EvaluationReport:
    evaluated = evaluate_step.run(request, Settings.from_env(models_dir=models_dir))
    return EvaluationReport(
        metrics=evaluated.metrics,
        report=str(evaluated.report),
        metrics_path=str(evaluated.metrics_path),
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
    recipe: Recipe | None = None,
) -> EvaluationReport:
    request = evaluate_step.EvaluateRequest(
        model=model,
        rule=rule,
        dataset=Path(dataset) if dataset else None,
        report=Path(report) if report else None,
        recipe=(recipe or Recipe()) if baseline else None,
    )
    assessed = evaluate_task(request, models_dir)
    publish_evaluation(assessed)
    print(f"report written to {assessed.report}")
    return assessed


if __name__ == "__main__":
    evaluate_model()
