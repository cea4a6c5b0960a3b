"""The `fontpipe` command. Each command parses its options, calls one library function and prints a
summary; orchestration (retries, caching, schedules) lives in the Prefect flows under `flows/`."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer

from fontpipe.console import console, err_console, progress_bar
from fontpipe.errors import FontpipeError, build_config
from fontpipe.settings import Settings

app = typer.Typer(
    name="fontpipe",
    help="Learn whether black or white text reads best on any background colour.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

F = TypeVar("F", bound=Callable[..., Any])


@app.callback()
def _group() -> None:
    """Learn whether black or white text reads best on any background colour."""


def user_errors(command: F) -> F:
    """Print a FontpipeError as one line on stderr and exit 2, instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except FontpipeError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
            raise typer.Exit(code=exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


def parse_floats(text: str, option: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise FontpipeError(f"{option}: expected comma-separated numbers, got {text!r}") from None


@app.command()
@user_errors
def generate(
    rows: int = typer.Option(1_000_000, help="Total rows over all splits (10_000_000 works)."),
    rule: str = typer.Option("mean", help="Labelling rule: mean, wcag or yiq."),
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
) -> None:
    """Generate a seeded, labelled RGB dataset as partitioned Parquet with a manifest."""
    from fontpipe.generate import default_dataset_name, parse_generate_config
    from fontpipe.schema import SAMPLINGS
    from fontpipe.store import check_dataset_target, write_dataset

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
        out or Settings.from_env().datasets_dir / default_dataset_name(config)
    )
    started = time.perf_counter()
    with progress_bar() as progress:
        task = progress.add_task("generate", total=config.rows)
        dataset, reused = write_dataset(
            config, target, force=force, progress=lambda n: progress.advance(task, n)
        )
        if reused:
            progress.update(task, completed=config.rows)
    elapsed = time.perf_counter() - started
    from fontpipe.report_text import dataset_summary_table

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
    from fontpipe.inputs import InputConfig
    from fontpipe.model import ModelConfig
    from fontpipe.quiet import quiet_tensorflow
    from fontpipe.store import open_dataset
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
    from fontpipe.train import train_model
    from fontpipe.training_progress import training_progress

    steps = max(opened.split_rows("train") // batch_size, 1)
    progress, callback = training_progress(epochs, steps)
    with progress:
        result = train_model(
            opened,
            config,
            models_dir or Settings.from_env().models_dir,
            callbacks=[callback],
            on_device_plan=lambda plan: progress.console.print(plan.description),
        )
    from fontpipe.report_text import training_summary_table

    console.print(training_summary_table(result.metadata))
    console.print(f"saved model version {result.version} to {result.path}")


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
    version_path = resolve_model(model, models_dir or settings.models_dir)
    if rule is not None:
        get_rule(rule)
    if dataset is not None:
        from fontpipe.store import open_dataset

        open_dataset(dataset)
    from fontpipe.assess import assess_version, check_report_target, write_report

    target = check_report_target(report or settings.reports_dir / version_path.name / "report.html")
    from fontpipe.quiet import quiet_tensorflow

    quiet_tensorflow()
    with err_console.status("evaluating") as status:
        assessment = assess_version(
            version_path,
            rule_name=rule,
            dataset_path=dataset,
            recipe=None if not baseline else _default_recipe(),
            progress=lambda step: status.update(f"evaluating: {step}"),
        )
        status.update("writing the report")
        metrics_path = write_report(assessment, target)
    from fontpipe.report_text import evaluation_summary_table

    console.print(evaluation_summary_table(assessment.metrics))
    console.print(f"report: {target}\nmetrics: {metrics_path}")


def _default_recipe() -> Any:
    from fontpipe.train import OriginalRecipe

    return OriginalRecipe()


@app.command()
@user_errors
def score(
    inputs: list[str] = typer.Argument(
        ..., metavar="INPUT...", help="CSV/Parquet files, directories or globs."
    ),
    out: Path = typer.Option(
        ..., "--out", help="Output file; .parquet or .csv decides the format."
    ),
    model: str = typer.Option("champion", help="champion, a version name, or a version directory."),
    on_error: str = typer.Option(
        "fail", help="fail: stop at the first bad value; quarantine: set bad rows aside."
    ),
    color_column: str | None = typer.Option(
        None, help="The hex / rgb() column, if detection picks wrong."
    ),
    rgb_columns: str | None = typer.Option(None, help="Three channel columns, e.g. R,G,B."),
    scale: str | None = typer.Option(None, help="Float channels run 0-1 (1) or 0-255 (255)."),
    dask_address: str | None = typer.Option(
        None, help="Score on a Dask cluster (tcp://host:port or local-cluster)."
    ),
    models_dir: Path | None = typer.Option(None, help="Model registry [default: data/models]."),
) -> None:
    """Score palette files: P(black), text colour, WCAG contrast and AA for every row."""
    from fontpipe.registry import resolve_model
    from fontpipe.score import ScoreConfig, score_files

    if on_error not in {"fail", "quarantine"}:
        raise FontpipeError(f"--on-error: expected fail or quarantine, got {on_error!r}")
    if scale not in {None, "1", "255"}:
        raise FontpipeError(f"--scale: expected 1 or 255, got {scale!r}")
    trio = None
    if rgb_columns is not None:
        trio = tuple(c.strip() for c in rgb_columns.split(","))
        if len(trio) != 3:
            raise FontpipeError(
                f"--rgb-columns: expected three names like r,g,b, got {rgb_columns!r}"
            )
    settings = Settings.from_env()
    version_path = resolve_model(model, models_dir or settings.models_dir)
    config = build_config(
        ScoreConfig, on_error=on_error, color_column=color_column, rgb_columns=trio, scale=scale
    )
    address = dask_address or settings.dask_address
    if address:
        from flows.score import score_palettes

        summary = score_palettes(
            inputs=inputs,
            out=str(out),
            model=str(version_path),
            config=config,
            dask_address=address,
        )
    else:
        with progress_bar() as progress:
            task = progress.add_task("score", total=None)

            def on_plan(job: Any, done: set[int]) -> None:
                progress.update(task, total=job.known_rows)
                if done:
                    progress.console.print(
                        f"resuming: {len(done)} of {len(job.parts)} parts already scored"
                    )
                    # Count the reused parts' rows so the bar still ends at 100 %.
                    progress.advance(task, sum(p.rows or 0 for p in job.parts if p.index in done))

            summary = score_files(
                inputs,
                out,
                version_path,
                config,
                progress=lambda n: progress.advance(task, n),
                on_plan=on_plan,
            )
    from fontpipe.report_text import score_summary_table

    console.print(score_summary_table(summary))
    if summary.rejects:
        console.print(
            f"[yellow]{summary.rejected:,} rejected rows, with reasons, in {summary.rejects}"
        )


@app.command()
@user_errors
def predict(
    colors: list[str] = typer.Argument(
        None, metavar="COLOR...", help="#rrggbb, #rgb, r,g,b or rgb(r,g,b); stdin when none."
    ),
    model: str = typer.Option("champion", help="champion, a version name, or a version directory."),
    models_dir: Path | None = typer.Option(None, help="Model registry [default: data/models]."),
) -> None:
    """Quick look-ups: which text colour reads best on each colour."""
    from fontpipe.predict import parse_color_argument, predict_colors
    from fontpipe.registry import resolve_model

    version_path = resolve_model(model, models_dir or Settings.from_env().models_dir)
    texts = colors or [line.strip() for line in sys.stdin if line.strip()]
    if not texts:
        raise FontpipeError("no colours given: pass them as arguments or one per line on stdin")
    rgb = [parse_color_argument(text) for text in texts]
    from rich.table import Table
    from rich.text import Text

    table = Table(show_header=True)
    for column in ("colour", "P(black)", "text", "contrast", "swatch"):
        table.add_column(column, justify="right" if column in {"P(black)", "contrast"} else "left")
    for text, row in zip(texts, predict_colors(version_path, rgb), strict=True):
        hex_value = "#{:02x}{:02x}{:02x}".format(*row["rgb"])
        swatch = Text(f" {text} ", style=f"{row['text_color']} on {hex_value}")
        table.add_row(
            text,
            f"{row['p_black']:.4f}",
            row["text_color"],
            f"{row['contrast_ratio']:.2f}:1",
            swatch,
        )
    console.print(table)


models_app = typer.Typer(
    help="The model registry: versions, the champion, promotions.", no_args_is_help=True
)
app.add_typer(models_app, name="models")


def _models_dir(models_dir: Path | None) -> Path:
    return models_dir or Settings.from_env().models_dir


@models_app.command("list")
@user_errors
def models_list(
    models_dir: Path | None = typer.Option(None, help="Registry [default: data/models]."),
) -> None:
    """Versions, newest first, with their metrics; the champion is marked."""
    from rich.table import Table

    from fontpipe.registry import version_summaries

    rows = version_summaries(_models_dir(models_dir))
    if not rows:
        console.print(f"no model versions in {_models_dir(models_dir)} yet")
        return
    table = Table()
    for column in (
        "",
        "version",
        "created",
        "rule",
        "epochs",
        "test accuracy",
        "cube errors",
        "boundary band",
    ):
        table.add_column(
            column,
            justify="right"
            if column in {"epochs", "test accuracy", "cube errors", "boundary band"}
            else "left",
        )
    for row in rows:
        table.add_row(
            "★" if row["champion"] else "",
            row["version"],
            str(row["created"] or "-"),
            str(row["rule"] or "-"),
            str(row["epochs"] or "-"),
            "-" if row["test_accuracy"] is None else f"{row['test_accuracy']:.4%}",
            "-" if row["cube_errors"] is None else f"{row['cube_errors']:,}",
            "-" if row["boundary_accuracy"] is None else f"{row['boundary_accuracy']:.4%}",
        )
    console.print(table)


@models_app.command("show")
@user_errors
def models_show(
    version: str = typer.Argument(..., help="A version name or champion."),
    models_dir: Path | None = typer.Option(None),
) -> None:
    """Everything recorded about one version."""
    import json

    from fontpipe.registry import champion, read_evaluation, read_metadata, resolve_model

    path = resolve_model(version, _models_dir(models_dir))
    meta = read_metadata(path.parent, path.name)
    meta["is_champion"] = champion(path.parent) == path.name
    meta["evaluation"] = read_evaluation(path)
    console.print_json(json.dumps(meta, default=str))


@models_app.command("promote")
@user_errors
def models_promote(
    version: str = typer.Argument(...), models_dir: Path | None = typer.Option(None)
) -> None:
    """Make a version the champion (its model file is verified first)."""
    from fontpipe.registry import promote, resolve_model

    path = resolve_model(version, _models_dir(models_dir))
    entry = promote(path.parent, path.name)
    console.print(f"champion: {entry['to']} (was {entry['from'] or 'none'})")


@models_app.command("rollback")
@user_errors
def models_rollback(models_dir: Path | None = typer.Option(None)) -> None:
    """Make the previous champion the champion again."""
    from fontpipe.registry import rollback

    entry = rollback(_models_dir(models_dir))
    console.print(f"champion: {entry['to']} (rolled back from {entry['from']})")


@app.command()
@user_errors
def retrain() -> None:
    """Run the retrain pipeline once with defaults (what `make run` does)."""
    from flows.retrain import main as run_retrain

    run_retrain()


@app.command()
@user_errors
def serve() -> None:
    """Serve the retrain (weekly), score-palettes and evaluate deployments from this process.
    Schedules need a Prefect server: set PREFECT_API_URL (see the README)."""
    from flows.deployments import serve_deployments

    serve_deployments()


def main() -> None:
    from flows.environment import apply_environment_defaults

    apply_environment_defaults()
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted; nothing half-written was left behind")
        sys.exit(130)


if __name__ == "__main__":
    main()
