"""Commands for the pipeline's steps: generate, train, evaluate, retrain, serve."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from cli.base import app, parse_floats, user_errors
from cli.console import console, err_console, progress_bar
from fontpipe.errors import FontpipeError, build_config
from fontpipe.schema import DEFAULT_ANSWER_RULE, DEFAULT_RULE
from fontpipe.settings import Settings


# Each command below is long only because typer declares every option in its signature.
@app.command()
@user_errors
def generate(
    rows: int = typer.Option(1_000_000, help="Total rows over all splits (10_000_000 works)."),
    rule: str = typer.Option(DEFAULT_RULE, help="Labelling rule: mean, wcag or yiq."),
    sampling: str = typer.Option("uniform-int", help="uniform-int, uniform-float or boundary."),
    seed: int = typer.Option(0, help="Seed; the same seed gives the same bytes."),
    out: Path | None = typer.Option(
        None, help="Dataset directory [default: data/datasets/<name>]."
    ),
    splits: str = typer.Option("0.8,0.1,0.1", help="train,val,test fractions summing to 1."),
    boundary_share: float = typer.Option(
        0.5, help="boundary sampling: share of near-boundary rows."
    ),
    boundary_width: float | None = typer.Option(
        None, help="boundary sampling: half-width in margin units."
    ),
    rows_per_file: int = typer.Option(1_000_000, help="Most rows in one Parquet file."),
    force: bool = typer.Option(
        False, "--force", help="Rebuild even if an identical dataset exists."
    ),
    no_space_check: bool = typer.Option(
        False, "--no-space-check", help="Write even if the estimate says the disk is too small."
    ),
) -> None:
    """Generate a seeded, labelled RGB dataset as partitioned Parquet with a manifest."""
    from fontpipe.datasets import check_dataset_target, default_dataset_path, write_dataset
    from fontpipe.generate import parse_generate_config
    from fontpipe.schema import SAMPLINGS

    if sampling not in SAMPLINGS:
        raise FontpipeError(f"unknown sampling {sampling!r}: choose one of {', '.join(SAMPLINGS)}")
    fractions = parse_floats(splits, "--splits")
    if len(fractions) != 3:
        raise FontpipeError(f"--splits: expected three fractions train,val,test, got {splits!r}")
    config = parse_generate_config(
        rows=rows,
        rule=rule,
        sampling=sampling,
        seed=seed,
        split_fractions=fractions,
        boundary_share=boundary_share,
        boundary_width=boundary_width,
        rows_per_file=rows_per_file,
    )
    target = check_dataset_target(
        out or default_dataset_path(Settings.from_env().datasets_dir, config)
    )
    started = time.perf_counter()
    with progress_bar() as progress:
        task = progress.add_task("generate", total=config.rows)
        dataset, reused = write_dataset(
            config,
            target,
            force=force,
            check_space=not no_space_check,
            progress=lambda n: progress.advance(task, n),
        )
        if reused:
            progress.update(task, completed=config.rows)
    elapsed = time.perf_counter() - started
    from cli.tables import dataset_summary_table

    console.print(dataset_summary_table(dataset))
    verb = "reused existing dataset (same parameters; --force rebuilds)" if reused else "wrote"
    rate = (
        ""
        if reused
        else f" in {elapsed:.1f}s ({config.rows / max(elapsed, 1e-9) / 1e6:.1f} M rows/s)"
    )
    console.print(f"{verb} {dataset.path}{rate}")


def parse_hidden(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise FontpipeError(
            f"--hidden: expected comma-separated layer widths like 10,10,5, got {text!r}"
        ) from None


@app.command()
@user_errors
def train(
    dataset: Path = typer.Option(..., help="A dataset directory made by `fontpipe generate`."),
    epochs: int = typer.Option(3, help="Most epochs (early stopping may end sooner)."),
    batch_size: int = typer.Option(512, help="Rows per training step."),
    hidden: str = typer.Option("10,10,5", help="Hidden ReLU layer widths."),
    lr: float = typer.Option(0.01, "--lr", help="Initial Adam learning rate."),
    schedule: str = typer.Option("cosine", help="cosine, exponential or constant."),
    device: str = typer.Option("auto", help="auto, cpu, gpu, or devices like /cpu:0,/cpu:1."),
    seed: int = typer.Option(0, help="Seed for weights and shuffling."),
    deterministic: bool = typer.Option(
        False, "--deterministic", help="TF op determinism (slower)."
    ),
    memory_budget_mb: float = typer.Option(
        1024, help="Splits smaller than this train from memory."
    ),
    models_dir: Path | None = typer.Option(None, help="Where versions go [default: data/models]."),
) -> None:
    """Train a model on a dataset's train split and save it as a new model version."""
    from fontpipe.datasets import open_dataset
    from fontpipe.inputs import InputConfig
    from fontpipe.model import ModelConfig
    from fontpipe.quiet import quiet_tensorflow
    from fontpipe.train import parse_train_config

    if schedule not in {"cosine", "exponential", "constant"}:
        raise FontpipeError(
            f"--schedule: expected cosine, exponential or constant, got {schedule!r}"
        )
    model_config = build_config(ModelConfig, hidden=parse_hidden(hidden))
    input_config = build_config(
        InputConfig, batch_size=batch_size, memory_budget_mb=memory_budget_mb
    )
    config = parse_train_config(
        model=model_config,
        inputs=input_config,
        epochs=epochs,
        learning_rate=lr,
        schedule=schedule,
        device=device,
        seed=seed,
        deterministic=deterministic,
    )
    opened = open_dataset(dataset)
    quiet_tensorflow()
    from cli.progress import training_progress
    from fontpipe.train import train_version

    steps = max(opened.split_rows("train") // batch_size, 1)
    progress, callback = training_progress(epochs, steps)
    with progress:
        version = train_version(
            opened,
            config,
            models_dir or Settings.from_env().models_dir,
            callbacks=[callback],
            on_device_plan=lambda plan: progress.console.print(plan.description),
        )
    from cli.tables import training_summary_table

    console.print(training_summary_table(version.metadata))
    console.print(f"saved model version {version.name} to {version.path}")


@app.command()
@user_errors
def evaluate(
    model: str = typer.Option("champion", help="champion, a version name, or a version directory."),
    rule: str | None = typer.Option(None, help="Rule to score against [default: the model's own]."),
    dataset: Path | None = typer.Option(
        None, help="Also score this dataset's held-out test split."
    ),
    report: Path | None = typer.Option(
        None, help="HTML report path [default: data/reports/<version>/report.html]."
    ),
    baseline: bool = typer.Option(
        True, help="Train the original recipe in the same run as a reference."
    ),
    models_dir: Path | None = typer.Option(None, help="Model registry [default: data/models]."),
) -> None:
    """Evaluate a model on all 16,777,216 colours and write an HTML report plus metrics.json."""
    from fontpipe.registry import resolve_model
    from fontpipe.rules import get_rule

    settings = Settings.from_env()
    version_path = resolve_model(
        model, models_dir or settings.models_dir, rule or DEFAULT_ANSWER_RULE
    )
    if rule is not None:
        get_rule(rule)
    if dataset is not None:
        from fontpipe.datasets import open_dataset

        open_dataset(dataset)
    from fontpipe.evaluation.evaluate_version import (
        compare_evaluation_with_champion,
        evaluate_version,
    )
    from fontpipe.evaluation.report import (
        check_report_target,
        default_report_path,
        write_report,
    )

    target = check_report_target(
        report or default_report_path(settings.reports_dir, version_path.name)
    )
    from fontpipe.quiet import quiet_tensorflow

    quiet_tensorflow()
    with err_console.status("evaluating") as status:
        evaluation = evaluate_version(
            version_path,
            rule_name=rule,
            dataset_path=dataset,
            recipe=None if not baseline else _default_recipe(),
            progress=lambda step: status.update(f"evaluating: {step}"),
        )
        status.update("comparing with the champion")
        comparison = compare_evaluation_with_champion(
            models_dir or settings.models_dir, evaluation.metrics
        )
        status.update("writing the report")
        metrics_path = write_report(evaluation, target, comparison)
    from cli.tables import evaluation_summary_table

    console.print(evaluation_summary_table(evaluation.metrics))
    console.print(f"report: {target}\nmetrics: {metrics_path}")


def _default_recipe() -> Any:
    from fontpipe.train import OriginalRecipe

    return OriginalRecipe()


@app.command()
@user_errors
def retrain() -> None:
    """Run the retrain pipeline once with defaults (what `make run` does)."""
    from cli.tables import retrain_summary_table
    from flows.local_server import local_api_server

    # The server is tied to this process (see flows.local_server); flows are imported inside,
    # after the API URL is set, because Prefect reads its settings once.
    with local_api_server():
        from flows.retrain import retrain as run_retrain

        report = run_retrain()
    from fontpipe.promotion import outcome_line

    console.print(retrain_summary_table(report))
    for outcome in report.outcomes:
        console.print(outcome_line(outcome), soft_wrap=True)


@app.command()
@user_errors
def serve() -> None:
    """Serve the retrain (weekly), score-palettes and evaluate deployments from this process.
    Schedules need a Prefect server: set PREFECT_API_URL (see the README)."""
    from flows.deployments import serve_deployments

    serve_deployments()
