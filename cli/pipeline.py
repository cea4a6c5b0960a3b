"""Commands for the pipeline's steps: generate, train, retrain, serve (import-labels and evaluate
have modules of their own)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from cli.base import (
    app,
    emit_json,
    json_option,
    models_dir_option,
    parse_floats,
    under_data_root,
    user_errors,
    with_default,
)
from cli.choices import RULE_METAVAR, Architecture, RecipeChoice, Rule, Sampling, Schedule
from cli.console import console, err_console, progress_bar
from fontpipe.errors import FontpipeError, build_config
from fontpipe.schema import DEFAULT_RULE
from fontpipe.settings import Settings

# GenerateConfig's default (a test keeps them equal), written here so that `--help` loads no
# data module.
DEFAULT_ROWS = 1_000_000


@app.command()
@user_errors
def generate(
    rows: int | None = typer.Option(
        None,
        help=with_default(
            "Total rows over all splits (10_000_000 works); refused with --sampling cube, which "
            "always writes the whole cube.",
            str(DEFAULT_ROWS),
        ),
    ),
    rule: Rule = typer.Option(Rule(DEFAULT_RULE), help="Labelling rule."),
    sampling: Sampling = typer.Option(
        Sampling.uniform_int,
        help="How colours are drawn; cube: the train split is every colour once (16,777,216 "
        "rows) and there is no val or test split.",
    ),
    seed: int = typer.Option(0, help="Seed; the same seed gives the same bytes."),
    out: Path | None = typer.Option(
        None, help=under_data_root("Dataset directory.", "datasets/<name>")
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
    from fontpipe.data.generation import parse_generate_config
    from fontpipe.steps import generate as generate_step

    if sampling is Sampling.cube and rows is not None:
        raise FontpipeError(
            "--rows: --sampling cube always writes the whole cube (16,777,216 colours, all of "
            "them train); leave --rows out, or choose another --sampling"
        )
    config = parse_generate_config(
        rows=DEFAULT_ROWS if rows is None else rows,
        rule=rule.value,
        sampling=sampling.value,
        seed=seed,
        split_fractions=parse_splits(splits),
        boundary_share=boundary_share,
        boundary_width=boundary_width,
        rows_per_file=rows_per_file,
    )
    # What is written, which is not --rows for cube sampling: the bar's total is never below
    # what it counts.
    total = sum(config.split_rows().values())
    with progress_bar() as progress:
        task = progress.add_task("generate", total=total)
        made = generate_step.run(
            config,
            Settings.from_env(),
            out=out,
            force=force,
            check_space=not no_space_check,
            rows_done=lambda n: progress.advance(task, n),
        )
        if made.reused:
            progress.update(task, completed=total)
    from cli.tables import dataset_summary_table

    console.print(dataset_summary_table(made.dataset))
    if made.reused:
        console.print(
            f"reused existing dataset (same parameters; --force rebuilds) {made.dataset.path}"
        )
    else:
        rate = total / max(made.seconds, 1e-9) / 1e6
        console.print(f"wrote {made.dataset.path} in {made.seconds:.1f}s ({rate:.1f} M rows/s)")


def parse_splits(text: str) -> tuple[float, float, float]:
    fractions = parse_floats(text, "--splits")
    if len(fractions) != 3:
        raise FontpipeError(f"--splits: expected three fractions train,val,test, got {text!r}")
    return fractions[0], fractions[1], fractions[2]


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
    dataset: Path | None = typer.Option(
        None, help="A dataset directory made by `fontpipe generate` (not with --recipe)."
    ),
    recipe: RecipeChoice | None = typer.Option(
        None,
        help="Instead of a dataset: train the question's network as written (question) or the "
        "accepted answer's fix (answer) on 10,000 random colours labelled by --rule, and "
        "measure it over the whole cube; nothing is saved.",
    ),
    rule: Rule = typer.Option(Rule.mean, help="With --recipe: the rule that labels its colours."),
    as_json: bool = json_option(),
    epochs: int = typer.Option(3, help="Most epochs (early stopping may end sooner)."),
    batch_size: int = typer.Option(512, help="Rows per training step."),
    architecture: Architecture = typer.Option(
        Architecture.mlp,
        help="mlp: the ReLU network, trained by Adam; channel-tables: a learned table per "
        "channel, fitted by Newton's method (exact on a `cube` dataset).",
    ),
    hidden: str = typer.Option("10,10,5", help="mlp: hidden ReLU layer widths."),
    lr: float = typer.Option(0.01, "--lr", help="mlp: initial Adam learning rate."),
    schedule: Schedule = typer.Option(Schedule.cosine, help="mlp: learning-rate schedule."),
    device: str = typer.Option("auto", help="auto, cpu, gpu, or devices like /cpu:0,/cpu:1."),
    seed: int = typer.Option(0, help="Seed for weights and shuffling."),
    deterministic: bool = typer.Option(
        False, "--deterministic", help="TF op determinism (slower)."
    ),
    memory_budget_mb: float = typer.Option(
        1024, help="Splits smaller than this train from memory."
    ),
    prior: Rule | None = typer.Option(
        None,
        help="mlp: mix in colours labelled by this rule (for a small human-label dataset: the "
        "rule supplies the rest of the cube).",
    ),
    prior_weight: float = typer.Option(
        0.3, min=0.0, max=0.99, help="With --prior: the rule's share of the training signal."
    ),
    prior_rows: int = typer.Option(200_000, min=1, help="With --prior: uniform colours drawn."),
    models_dir: Path | None = models_dir_option(),
) -> None:
    """Train a model on a dataset's train split and save it as a new model version, or run a
    recipe of the question (--recipe)."""
    if recipe is not None:
        _run_recipe(recipe.value, rule.value, seed, as_json)
        return
    if dataset is None:
        raise FontpipeError(
            "train: give --dataset (a directory made by `fontpipe generate`) or --recipe"
        )
    from fontpipe.data.datasets import open_dataset
    from fontpipe.model import ModelConfig
    from fontpipe.training.config import parse_train_config
    from fontpipe.training.inputs import InputConfig

    config = parse_train_config(
        model=build_config(
            ModelConfig, architecture=architecture.value, hidden=parse_hidden(hidden)
        ),
        inputs=build_config(InputConfig, batch_size=batch_size, memory_budget_mb=memory_budget_mb),
        epochs=epochs,
        learning_rate=lr,
        schedule=schedule.value,
        prior=prior.value if prior else None,
        prior_weight=prior_weight,
        prior_rows=prior_rows,
        device=device,
        seed=seed,
        deterministic=deterministic,
    )
    _train_and_print(
        open_dataset(dataset), config, Settings.from_env(models_dir=models_dir), as_json
    )


def _run_recipe(name: str, rule: str, seed: int, as_json: bool) -> None:
    from fontpipe.steps.train import run_recipe
    from fontpipe.training.recipes import Recipe

    with err_console.status(f"training the {name}'s recipe, then measuring it over the cube"):
        result = run_recipe(Recipe(name=name, rule=rule, seed=seed))
    if as_json:
        emit_json(result.model_dump(mode="json"))
        return
    spread = result.p_black_spread
    console.print(
        f"{result.title}, rule {result.rule}, seed {result.seed}: trained in "
        f"{result.train_seconds:.1f} s; over all 16,777,216 colours {result.cube_accuracy:.2%} "
        f"accuracy ({result.cube_errors:,} errors); P(black) from {spread.min:.3f} to "
        f"{spread.max:.3f}, standard deviation {spread.std:.3f}",
        soft_wrap=True,
    )


def _train_and_print(dataset: Any, config: Any, settings: Settings, as_json: bool) -> None:
    """Train with a progress bar (Newton steps, or epochs of steps), then the summary table (or
    the version's record, with the epoch or step kept, as JSON)."""
    from cli.progress import training_progress
    from fontpipe.steps import train as train_step
    from fontpipe.training.multiworker import WorkerFinished

    if config.model.architecture == "channel-tables":
        progress, callback = training_progress(config.max_newton_steps, 1, unit="Newton step")
    else:
        # Multi-worker training too: steps of the global batch over the whole train split.
        batches = max(dataset.split_rows("train") // config.inputs.batch_size, 1)
        progress, callback = training_progress(config.epochs, batches)

    def announce(plan: Any) -> None:
        progress.console.print(plan.description, soft_wrap=True)
        if plan.note:
            progress.console.print(plan.note, soft_wrap=True)

    try:
        with progress:
            version = train_step.run(
                dataset, config, settings.models_dir, callbacks=[callback], on_device_plan=announce
            )
    except WorkerFinished as finished:
        # A worker other than the chief in multi-worker training: done, and nothing to save.
        console.print(str(finished), soft_wrap=True)
        return
    if as_json:
        emit_json(training_json(version))
        return
    from cli.tables import training_summary_table

    console.print(training_summary_table(version.metadata))
    console.print(f"saved model version {version.name} to {version.path}")


def training_json(version: Any) -> dict[str, Any]:
    """`train --dataset ... --json` (schemas/train.json): the version's record, and which epoch
    or Newton step gave its weights."""
    from fontpipe.summaries import kept_weights

    kept = kept_weights(version.metadata)
    return {
        "version": version.name,
        "path": str(version.path),
        "kept": None if kept is None else {"unit": kept.unit, "kept": kept.kept, "of": kept.of},
        "metadata": version.metadata.model_dump(mode="json"),
    }


@app.command()
@user_errors
def retrain(
    rule: list[Rule] | None = typer.Option(
        None,
        metavar=RULE_METAVAR,
        help=with_default("Retrain only this rule's champion (repeat for more).", "every rule"),
    ),
    seed: int | None = typer.Option(
        None,
        help=with_default(
            "Seed of the 1 % sample each rule learns from.",
            "a new one each run, recorded in the dataset and the summary",
        ),
    ),
    as_json: bool = json_option(),
) -> None:
    """Run the retrain pipeline once with defaults (what `make run` does): for each rule, data,
    a challenger, its evaluation and promotion only if it beats that rule's champion."""
    import os
    import threading

    from cli.tables import retrain_summary_table
    from flows.local_server import local_api_server
    from fontpipe.schema import RULE_NAMES
    from fontpipe.steps.retrain import warm_up

    # Prefect's per-task log lines are for a server's UI; here a status line says where the run
    # is, and the summary says what it did. Set before Prefect is imported.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    rules = tuple(r.value for r in rule) if rule else RULE_NAMES
    started = time.perf_counter()
    # TensorFlow and the cube caches load while the server starts (a second core is idle).
    warming = threading.Thread(target=warm_up, args=(rules,), daemon=True)
    warming.start()
    # The server is tied to this process (see flows.local_server); flows are imported inside,
    # after the API URL is set, because Prefect reads its settings once.
    with (
        err_console.status("retrain: starting the local Prefect API") as status,
        local_api_server(),
    ):
        warming.join()
        from flows.retrain import retrain as run_retrain
        from flows.retrain import retrain_progress

        def show(current: str, step: str) -> None:
            position = rules.index(current) + 1 if current in rules else 0
            elapsed = time.perf_counter() - started
            status.update(f"retrain {current} ({position}/{len(rules)}): {step}  [{elapsed:.0f} s]")
            if step == "generating data" and position > 1:
                err_console.print(f"{rules[position - 2]}: done")

        token = retrain_progress.set(show)
        try:
            report = run_retrain(rules=rules, seed=seed)
        finally:
            retrain_progress.reset(token)
    from fontpipe.registry.promotion import outcome_line

    kept = challengers_kept(report, Settings.from_env().models_dir)
    if as_json:
        emit_json({**report.model_dump(mode="json"), "kept": kept})
        return
    console.print(retrain_summary_table(report))
    for outcome in report.outcomes:
        console.print(outcome_line(outcome, kept.get(outcome.rule)), soft_wrap=True)


def challengers_kept(report: Any, models_dir: Path) -> dict[str, str | None]:
    """Each rule -> which Newton step or epoch gave its challenger's weights, from the version's
    record (None when it was not stored: identical to its champion)."""
    from fontpipe.registry.versions import is_version_dir, read_metadata, version_dir
    from fontpipe.summaries import kept_weights

    kept: dict[str, str | None] = {}
    for outcome in report.outcomes:
        path = version_dir(models_dir, outcome.challenger)
        found = kept_weights(read_metadata(path)) if is_version_dir(path) else None
        kept[outcome.rule] = found.phrase() if found else None
    return kept


@app.command()
@user_errors
def serve() -> None:
    """Serve the retrain (weekly), score-palettes and evaluate deployments from this process.
    Schedules need a Prefect server: set PREFECT_API_URL (see the README)."""
    from flows.deployments import serve_deployments

    serve_deployments()
