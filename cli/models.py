"""`fontpipe models`: the registry's versions, champion, promotions."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.base import app, emit_json, json_option, user_errors
from cli.choices import ExportFormat, family_option
from cli.console import console, err_console
from fontpipe.schema import DEFAULT_ANSWER_RULE
from fontpipe.settings import Settings

models_app = typer.Typer(
    help="The model registry: versions, the champion, promotions.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(models_app, name="models")


def _models_dir(models_dir: Path | None) -> Path:
    return models_dir or Settings.from_env().models_dir


@models_app.command("list")
@user_errors
def models_list(
    models_dir: Path | None = typer.Option(None, help="Registry [default: data/models]."),
    as_json: bool = json_option(),
) -> None:
    """Versions, newest first, with their metrics; each rule's champion is marked."""
    from dataclasses import asdict

    from rich.table import Table

    from fontpipe.registry.listing import version_summaries

    rows = version_summaries(_models_dir(models_dir))
    if as_json:
        emit_json(
            {"models_dir": str(_models_dir(models_dir)), "versions": [asdict(r) for r in rows]}
        )
        return
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
        "errors",
        "far",
        "measured on",
        "boundary band",
    ):
        table.add_column(
            column,
            justify="right"
            if column in {"epochs", "test accuracy", "errors", "far", "boundary band"}
            else "left",
        )
    for row in rows:
        table.add_row(
            "★" if row.champion else "",
            row.version,
            row.created,
            row.rule,
            str(row.epochs),
            "-" if row.test_accuracy is None else f"{row.test_accuracy:.4%}",
            "-" if row.cube_errors is None else f"{row.cube_errors:,}",
            "-" if row.far_errors is None else f"{row.far_errors:,}",
            row.measured_on or "-",
            "-" if row.boundary_accuracy is None else f"{row.boundary_accuracy:.4%}",
        )
    console.print(table)


@models_app.command("show")
@user_errors
def models_show(
    version: str = typer.Argument(..., help="A version name or champion."),
    rule: str = family_option(
        DEFAULT_ANSWER_RULE, "Whose champion `champion` names: wcag, mean, yiq or human:<name>."
    ),
    models_dir: Path | None = typer.Option(None),
    as_json: bool = json_option(),
) -> None:
    """Everything recorded about one version."""
    import json

    from fontpipe.registry.champions import champions, resolve_model
    from fontpipe.registry.versions import read_evaluation, read_metadata

    path = resolve_model(version, _models_dir(models_dir), rule)
    shown = read_metadata(path).model_dump(mode="json")
    shown["is_champion"] = path.name in champions(path.parent).values()
    shown["evaluation"] = read_evaluation(path)
    if as_json:
        emit_json(shown)
        return
    console.print_json(json.dumps(shown, default=str))


@models_app.command("promote")
@user_errors
def models_promote(
    version: str = typer.Argument(...), models_dir: Path | None = typer.Option(None)
) -> None:
    """Make a version the champion of its own rule (its model and cube table verified first)."""
    from fontpipe.registry.champions import promote, resolve_model

    path = resolve_model(version, _models_dir(models_dir))
    entry = promote(path.parent, path.name)
    console.print(f"{entry['rule']} champion: {entry['to']} (was {entry['from'] or 'none'})")


@models_app.command("rollback")
@user_errors
def models_rollback(
    rule: str | None = family_option(
        None,
        "Whose champion to roll back: wcag, mean, yiq or human:<name> [default: the rule "
        "promoted last].",
    ),
    models_dir: Path | None = typer.Option(None),
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
    models_dir: Path | None = typer.Option(None, help="Registry [default: data/models]."),
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
    model: str = typer.Argument(..., help="champion, a version name, or a version directory."),
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
    rule: str = family_option(
        DEFAULT_ANSWER_RULE, "Whose champion `champion` names: wcag, mean, yiq or human:<name>."
    ),
    models_dir: Path | None = typer.Option(None, help="Registry [default: data/models]."),
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
