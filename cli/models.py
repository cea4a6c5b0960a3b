"""`fontpipe models`: the registry's versions, champion, promotions and their history."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from cli.base import (
    app,
    emit_json,
    help_when_bare,
    json_option,
    models_dir_option,
    user_errors,
    with_default,
)
from cli.choices import ExportFormat, family_option
from cli.console import console, err_console
from fontpipe.schema import DEFAULT_ANSWER_RULE
from fontpipe.settings import Settings

if TYPE_CHECKING:
    from rich.table import Table

    from fontpipe.registry.history import HistoryEntry
    from fontpipe.registry.listing import VersionSummary

models_app = typer.Typer(
    help="The model registry: versions, the champion, promotions, the history of decisions.",
    rich_markup_mode=None,
)
app.add_typer(models_app, name="models")


@models_app.callback(invoke_without_command=True)
def _models(context: typer.Context) -> None:
    """The model registry: versions, the champion, promotions, the history of decisions."""
    help_when_bare(context)


def _models_dir(models_dir: Path | None) -> Path:
    return models_dir or Settings.from_env().models_dir


# `models list` at a narrow terminal: these columns go first (in this order), so that a version
# id is always printed whole, as `promote` and `show` need it.
_OPTIONAL_COLUMNS = ("created", "boundary band", "test accuracy", "epochs", "measured on")
_RIGHT = {"epochs", "test accuracy", "errors", "far", "boundary band"}
_STAR_NOTE = "★ the champion of its rule: the version `champion` names and `predict` answers with"
_ROLLBACK_NOTE = (
    "↩ the rollback target of its rule: the champion before the current one, which "
    "`models rollback` makes champion (each rollback walks one champion further back)"
)


@models_app.command("list")
@user_errors
def models_list(
    models_dir: Path | None = models_dir_option(),
    as_json: bool = json_option(),
) -> None:
    """Versions, newest first, with their family, data and metrics; ★ marks each rule's champion,
    ↩ the version `models rollback` would make its champion."""
    from dataclasses import asdict

    from fontpipe.registry.listing import rollback_targets, version_summaries

    registry = _models_dir(models_dir)
    rows = version_summaries(registry)
    targets = rollback_targets(registry)
    if as_json:
        emit_json(
            {
                "models_dir": str(registry),
                "versions": [asdict(r) for r in rows],
                "rollback_targets": targets,
            }
        )
        return
    if not rows:
        console.print(f"no model versions in {registry} yet")
        return
    console.print(versions_table(rows, console.width))
    for line in rollback_lines(targets):
        console.print(line, soft_wrap=True)


def rollback_lines(targets: dict[str, str | None]) -> list[str]:
    """Where `models rollback` would go, one line per rule with a champion."""
    return [
        f"models rollback --rule {rule}: "
        + (f"{target} becomes champion again" if target else "no earlier champion to go back to")
        for rule, target in targets.items()
    ]


def versions_table(rows: list[VersionSummary], width: int) -> Table:
    """The listing as a table that fits `width`: other columns are dropped, then folded, before
    a version id is ever cut."""
    from rich.console import Console

    dropped: list[str] = []
    while True:
        table = _versions_table(rows, dropped)
        natural = Console(width=100_000).measure(table).maximum  # unwrapped width
        if natural <= width or len(dropped) == len(_OPTIONAL_COLUMNS):
            return table
        dropped.append(_OPTIONAL_COLUMNS[len(dropped)])


def _versions_table(rows: list[VersionSummary], dropped: list[str]) -> Table:
    from rich.table import Table

    cells: dict[str, Callable[[VersionSummary], str]] = {
        "": lambda r: "★" if r.champion else "↩" if r.rollback_target else "",
        "version": lambda r: r.version,
        "rule": lambda r: r.rule,
        "family": lambda r: r.architecture or "-",
        "sampling": lambda r: r.sampling or "-",
        "epochs": lambda r: str(r.epochs),
        "test accuracy": lambda r: _share(r.test_accuracy),
        "errors": lambda r: "-" if r.cube_errors is None else f"{r.cube_errors:,}",
        "far": lambda r: "-" if r.far_errors is None else f"{r.far_errors:,}",
        "measured on": lambda r: r.measured_on or "-",
        "boundary band": lambda r: _share(r.boundary_accuracy),
        "created": lambda r: r.created,
    }
    shown = [name for name in cells if name not in dropped]
    notes = [_STAR_NOTE, *([_ROLLBACK_NOTE] if any(r.rollback_target for r in rows) else [])]
    table = Table(caption="\n".join(notes), caption_justify="left")
    longest = max(len(r.version) for r in rows)
    for name in shown:
        if name == "version":
            table.add_column(name, no_wrap=True, min_width=longest)
        else:
            table.add_column(name, justify="right" if name in _RIGHT else "left", overflow="fold")
    for row in rows:
        table.add_row(*(cells[name](row) for name in shown))
    return table


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.4%}"


@models_app.command("history")
@user_errors
def models_history(
    rule: str | None = family_option(
        None, with_default("Only this rule's decisions.", "every rule")
    ),
    models_dir: Path | None = models_dir_option(),
    as_json: bool = json_option(),
) -> None:
    """Every retrain and promotion decision, oldest first: promoted or not and why, both sides'
    held-out figures, the data and its seed, and the challenger's report."""
    from fontpipe.registry.listing import history

    entries = history(_models_dir(models_dir), rule)
    if as_json:
        emit_json(
            {
                "models_dir": str(_models_dir(models_dir)),
                "rule": rule,
                "decisions": [entry.as_json() for entry in entries],
            }
        )
        return
    if not entries:
        which = f" of the {rule} rule" if rule else ""
        console.print(f"no decisions{which} in {_models_dir(models_dir)} yet")
        return
    for entry in entries:
        console.print(decision_table(entry))


def decision_table(entry: HistoryEntry) -> Table:
    """One decision as a two-column table: the values fold, the version id never does."""
    from rich.table import Table

    from fontpipe.registry.promotion import error_figures

    verdict = {
        "retrain": "promoted" if entry.promoted else "not promoted",
        "promotion": "promoted (not by a recorded retrain round)",
        "rollback": "rolled back",
    }[entry.kind]
    table = Table(
        title=f"{entry.at or 'before the log'}  {entry.rule}: {verdict}",
        title_justify="left",
        show_header=False,
    )
    table.add_column("field", no_wrap=True)
    table.add_column("value", overflow="fold")
    stored = "" if entry.stored else " (identical to its champion: not stored)"
    table.add_row("version", entry.version + stored)
    table.add_row("reason", entry.reason)
    if entry.version_metrics is not None:
        table.add_row("its figures", error_figures(entry.version_metrics))
    table.add_row("champion before", entry.previous_champion or "none")
    if entry.champion_metrics is not None:
        table.add_row("its figures", error_figures(entry.champion_metrics))
    if entry.dataset is not None:
        seed = "" if entry.seed is None else f" (seed {entry.seed})"
        table.add_row("data", entry.dataset + seed)
    if entry.report is not None:
        table.add_row("report", entry.report)
    return table


@models_app.command("show")
@user_errors
def models_show(
    version: str = typer.Argument(..., metavar="VERSION", help="A version name or champion."),
    rule: str = family_option(DEFAULT_ANSWER_RULE, "Whose champion `champion` names."),
    models_dir: Path | None = models_dir_option(),
    as_json: bool = json_option(),
) -> None:
    """Everything recorded about one version, as a table (JSON with --json)."""
    from rich.table import Table

    from fontpipe.registry.champions import champions, resolve_model
    from fontpipe.registry.versions import read_evaluation, read_metadata

    path = resolve_model(version, _models_dir(models_dir), rule)
    shown = read_metadata(path).model_dump(mode="json")
    shown["is_champion"] = path.name in champions(path.parent).values()
    shown["evaluation"] = read_evaluation(path)
    if as_json:
        emit_json(shown)
        return
    table = Table(title=path.name, title_justify="left", show_header=False)
    table.add_column("field", no_wrap=True)
    table.add_column("value", overflow="fold")
    for field, value in _flattened(shown):
        table.add_row(field, value)
    console.print(table)


def _flattened(record: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """A nested record as (dotted field, value) rows; lists and scalars as JSON."""
    import json

    rows: list[tuple[str, str]] = []
    for key, value in record.items():
        if isinstance(value, dict) and value:
            rows += _flattened(value, f"{prefix}{key}.")
        else:
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            rows.append((f"{prefix}{key}", text))
    return rows


@models_app.command("promote")
@user_errors
def models_promote(
    version: str = typer.Argument(
        ..., metavar="VERSION", help="A version name, or a version directory of the registry."
    ),
    evaluate: bool = typer.Option(
        True,
        "--evaluate/--no-evaluate",
        help="A version never evaluated is evaluated first (over the cube, or on its held-out "
        "human labels), and its figures recorded with the promotion; --no-evaluate refuses it "
        "instead and says how to evaluate it.",
    ),
    models_dir: Path | None = models_dir_option(),
) -> None:
    """Make a version the champion of its own rule (its model and cube table verified first, and
    evaluated first if it never was)."""
    from fontpipe.registry.promotion import error_figures
    from fontpipe.steps.evaluate import promote_by_hand

    settings = Settings.from_env(models_dir=models_dir)
    with err_console.status(f"promoting {version}") as status:
        done = promote_by_hand(version, settings, evaluate=evaluate, status=status.update)
    entry = done.entry
    if done.evaluated is not None:
        human = done.evaluated.metrics.human
        figures = (
            f"{human.test_accuracy:.2%} right on {human.test_rows:,} held-out human labels"
            if human is not None
            else error_figures(done.headline)
        )
        console.print(f"{entry['to']} was never evaluated; evaluated first: {figures}")
    console.print(f"{entry['rule']} champion: {entry['to']} (was {entry['from'] or 'none'})")


@models_app.command("rollback")
@user_errors
def models_rollback(
    rule: str | None = family_option(
        None,
        with_default("Whose champion to roll back.", "the rule promoted last"),
    ),
    models_dir: Path | None = models_dir_option(),
) -> None:
    """Make a rule's previous champion its champion again."""
    from fontpipe.registry.champions import rollback

    entry = rollback(_models_dir(models_dir), rule)
    console.print(f"{entry['rule']} champion: {entry['to']} (rolled back from {entry['from']})")


@models_app.command("prune")
@user_errors
def models_prune(
    keep: int = typer.Option(..., "--keep", min=0, help="Other versions to keep, newest first."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Only say what would be deleted; delete nothing."
    ),
    drop_cube_tables: bool = typer.Option(
        False,
        "--drop-cube-tables",
        help="Also drop the cube tables (32 MiB each) of kept versions; rebuilt on next use.",
    ),
    models_dir: Path | None = models_dir_option(),
) -> None:
    """Delete old versions. The champion and the rollback target are never deleted."""
    from fontpipe.registry.retention import RetentionPolicy, prune_versions

    plan = prune_versions(
        _models_dir(models_dir),
        RetentionPolicy(keep_versions=keep, drop_cube_tables=drop_cube_tables),
        dry_run=dry_run,
    )
    verb = "would delete" if plan.dry_run else "deleted"
    for name, why in plan.protected.items():
        console.print(f"kept    {name} ({why})")
    for name in plan.kept:
        note = " (cube table dropped)" if name in plan.cube_tables_dropped else ""
        console.print(f"kept    {name}{note}")
    for name in plan.removed:
        console.print(f"{verb:7} {name}")
    console.print(
        f"{verb} {len(plan.removed)} versions, {len(plan.cube_tables_dropped)} cube tables: "
        f"{plan.bytes_freed / 1e6:,.1f} MB {'to free' if plan.dry_run else 'freed'}"
    )


@app.command("export")
@user_errors
def export(
    model: str = typer.Argument(
        ..., metavar="MODEL", help="champion, a version name, or a version directory."
    ),
    export_format: ExportFormat = typer.Option(
        ...,
        "--format",
        help="savedmodel (TF Serving), onnx (ONNX Runtime), tflite (LiteRT, mobile) or json "
        "(weights plus a "
        "dependency-free JavaScript function, written beside it as <name>.js).",
    ),
    out: Path = typer.Option(
        ..., "--out", help="Where the export goes (a directory for savedmodel)."
    ),
    rule: str = family_option(DEFAULT_ANSWER_RULE, "Whose champion `champion` names."),
    models_dir: Path | None = models_dir_option(),
    force: bool = typer.Option(
        False, "--force", help="Replace what is already at --out (a file or a non-empty directory)."
    ),
    as_json: bool = json_option(),
) -> None:
    """Export a model version for TF Serving, mobile or a web page."""
    from fontpipe.steps import export as export_step

    settings = Settings.from_env(models_dir=models_dir)
    with err_console.status(f"exporting {model} as {export_format.value}"):
        exported = export_step.run(
            model, export_format.value, out, settings, rule=rule, force=force
        )
    version, (written, *extra) = exported.version, exported.paths
    if as_json:
        emit_json(
            {
                "model_version": version.name,
                "format": export_format.value,
                "paths": [str(path) for path in exported.paths],
            }
        )
        return
    console.print(f"exported {version.name} ({version.rule}) as {export_format.value}: {written}")
    for path in extra:
        console.print(f"JavaScript: {path}")
