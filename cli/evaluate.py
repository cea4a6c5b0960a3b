"""`fontpipe evaluate`: a version over all 16,777,216 colours, into an HTML report and metrics.json.

A `human:<name>` model is measured twice, and each measure has its own table: accuracy on its
held-out human labels (what its family promotes on) and its figures over the cube against its
prior rule. The numbers are the report's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from cli.base import (
    app,
    emit_json,
    json_option,
    models_dir_option,
    under_data_root,
    user_errors,
    with_default,
)
from cli.choices import Rule
from cli.console import console, err_console
from fontpipe.settings import Settings


@app.command()
@user_errors
def evaluate(
    model: str = typer.Option("champion", help="champion, a version name, or a version directory."),
    rule: Rule | None = typer.Option(
        None, help=with_default("Rule to score against.", "the model's own")
    ),
    dataset: Path | None = typer.Option(
        None, help="Also score this dataset's held-out test split."
    ),
    report: Path | None = typer.Option(
        None, help=under_data_root("HTML report path.", "reports/<version>/report.html")
    ),
    baseline: bool = typer.Option(
        True, help="Train the original recipe in the same run as a reference."
    ),
    models_dir: Path | None = models_dir_option(),
    as_json: bool = json_option(),
) -> None:
    """Evaluate a model on all 16,777,216 colours and write an HTML report plus metrics.json; a
    human:<name> model also on its held-out human labels, in a table of their own."""
    from fontpipe.steps import evaluate as evaluate_step
    from fontpipe.training.recipes import Recipe

    request = evaluate_step.EvaluateRequest(
        model=model,
        rule=rule.value if rule else None,
        dataset=dataset,
        report=report,
        recipe=Recipe() if baseline else None,
    )
    with err_console.status("evaluating") as status:
        evaluated = evaluate_step.run(
            request, Settings.from_env(models_dir=models_dir), status=status.update
        )
    if as_json:
        emit_json(evaluation_json(evaluated))
        return
    from cli.tables import evaluation_summary_table, human_labels_table

    metrics = evaluated.metrics
    if metrics.human is not None:
        console.print(human_labels_table(metrics))
    console.print(evaluation_summary_table(metrics))
    console.print(f"report: {evaluated.report}\nmetrics: {evaluated.metrics_path}")


def evaluation_json(evaluated: Any) -> dict[str, Any]:
    """`evaluate --json` (schemas/evaluate.json)."""
    from fontpipe.data.labels import held_out_accuracy

    metrics = evaluated.metrics
    human = None
    if metrics.human is not None:
        h = metrics.human
        accuracy = held_out_accuracy(metrics.version, h.test_rows - h.test_errors, h.test_rows)
        human = {**h.model_dump(mode="json"), "interval_95": [accuracy.low, accuracy.high]}
    return {
        "version": metrics.version,
        "rule": metrics.rule,
        "family": metrics.family,
        "headline": metrics.headline.model_dump(),
        "cube_headline": metrics.cube.headline().model_dump(),
        "human": human,
        "bands": [band.model_dump() for band in metrics.cube.bands],
        "beats_answer_recipe": metrics.beats_answer_recipe,
        "champion": evaluated.comparison.model_dump(mode="json") if evaluated.comparison else None,
        "report": str(evaluated.report),
        "metrics": str(evaluated.metrics_path),
    }
