"""Commands that answer for colours: bulk `score` and quick `predict`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from cli.base import app, json_option, models_dir_option, user_errors, with_default
from cli.choices import ANSWERING_RULE_HELP, OnError, Scale, family_option
from fontpipe.schema import DEFAULT_ANSWER_RULE


class ValueStyle(str, Enum):
    """How a stylesheet output writes a text colour (fontpipe.scoring.design.VALUE_STYLES)."""

    hex = "hex"
    keyword = "keyword"


class ScoreOptions:
    """`fontpipe score`'s options, declared once so that the command's body stays short."""

    inputs = typer.Argument(
        ...,
        metavar="INPUT...",
        help="Palette files (CSV, TSV, compressed CSV, Parquet, JSON Lines, design tokens .json, "
        ".css), directories or globs; local, or URLs on a store (s3://, gs://, abfs://, file://).",
    )
    out = typer.Option(
        ...,
        "--out",
        help="Output file, its suffix deciding the format: .parquet or .csv (the scored rows), "
        ".css (a stylesheet: a custom property --on-<name> per row, in its own selector and "
        "@media), .json (W3C design tokens of the text colours, aliasing the source tokens); or "
        "a directory ending in / for a partitioned Parquet dataset (a file per part, "
        "_manifest.json, _SUCCESS). A URL (s3://bucket/prefix/) writes to that store.",
    )
    value_style = typer.Option(
        ValueStyle.hex,
        help="How a .css output writes each text colour: hex (#000, #fff) or keyword "
        "(black, white).",
    )
    report = typer.Option(
        None,
        help="Also write an HTML audit page of the palette here (self-contained, offline): a "
        "swatch per colour, both contrasts, AA/AAA/3:1 verdicts, sort and filter.",
    )
    model = typer.Option("champion", help="champion, a version name, or a version directory.")
    rule = family_option(DEFAULT_ANSWER_RULE, ANSWERING_RULE_HELP)
    on_error = typer.Option(
        OnError.fail, help="fail: stop at the first bad value; quarantine: set bad rows aside."
    )
    color_column = typer.Option(
        None,
        help="The colour column, if detection picks wrong: any CSS colour (hex, rgb(), hsl(), "
        "oklch(), color(), names, ...).",
    )
    rgb_columns = typer.Option(None, help="Three channel columns, e.g. R,G,B.")
    scale = typer.Option(None, help="Float channels run 0-1 (1) or 0-255 (255).")
    dask_address = typer.Option(
        None, help="Score on a Dask cluster (tcp://host:port or local-cluster)."
    )
    models_dir = models_dir_option()
    verbose = typer.Option(
        False, "--verbose", help="Show the Dask cluster's own log lines (quiet by default)."
    )
    backdrop = typer.Option(
        "white", help="Translucent colours are composited over this CSS colour."
    )
    delimiter = typer.Option(
        None, help=with_default("CSV field separator (, ; | or tab).", "sniffed from the header")
    )
    max_reject_rate = typer.Option(
        None,
        min=0.0,
        max=1.0,
        help="Exit with code 3 when more than this share of rows is rejected (the output and "
        "the rejects file are still written in full). Implies --on-error quarantine.",
    )


@app.command()
@user_errors
def score(
    inputs: list[str] = ScoreOptions.inputs,
    out: str = ScoreOptions.out,
    model: str = ScoreOptions.model,
    rule: str = ScoreOptions.rule,
    on_error: OnError = ScoreOptions.on_error,
    color_column: str | None = ScoreOptions.color_column,
    rgb_columns: str | None = ScoreOptions.rgb_columns,
    scale: Scale | None = ScoreOptions.scale,
    dask_address: str | None = ScoreOptions.dask_address,
    models_dir: Path | None = ScoreOptions.models_dir,
    verbose: bool = ScoreOptions.verbose,
    backdrop: str = ScoreOptions.backdrop,
    delimiter: str | None = ScoreOptions.delimiter,
    max_reject_rate: float | None = ScoreOptions.max_reject_rate,
    value_style: ValueStyle = ScoreOptions.value_style,
    report: Path | None = ScoreOptions.report,
    as_json: bool = json_option(),
) -> None:
    """Score palette files: P(black), text colour, WCAG contrast and AA for every row."""
    from cli.score_run import ScoreRequest, run_score

    code = run_score(
        ScoreRequest(
            inputs=inputs,
            out=out,
            model=model,
            rule=rule,
            on_error=on_error.value,
            color_column=color_column,
            rgb_columns=rgb_columns,
            scale=scale.value if scale else None,
            dask_address=dask_address,
            models_dir=models_dir,
            verbose=verbose,
            backdrop=backdrop,
            delimiter=delimiter,
            max_reject_rate=max_reject_rate,
            value_style=value_style.value,
            report=report,
            as_json=as_json,
        )
    )
    if code:
        raise typer.Exit(code=code)


@app.command()
@user_errors
def predict(
    colors: list[str] = typer.Argument(
        None,
        metavar="COLOR...",
        help="Any CSS colour (#rgb[a], #rrggbb[aa], rgb(), hsl(), hwb(), lab(), lch(), oklab(), "
        "oklch(), color(), names) or r,g,b. None: one per line on stdin (a prompt at a "
        "terminal). '-': answer each line of stdin as it arrives (a table row, or one JSON "
        "object a line with --json); a bad line is answered with its error and the loop goes "
        "on, ending with exit code 2.",
    ),
    model: str = typer.Option("champion", help="champion, a version name, or a version directory."),
    rule: str = family_option(DEFAULT_ANSWER_RULE, ANSWERING_RULE_HELP),
    models_dir: Path | None = models_dir_option(),
    backdrop: str = typer.Option(
        "white", help="Translucent colours are composited over this CSS colour."
    ),
    as_json: bool = json_option(),
) -> None:
    """Quick look-ups: which text colour reads best on each colour."""
    from cli.predict import run_predict

    code = run_predict(colors, model, rule, models_dir, backdrop, as_json)
    if code:
        raise typer.Exit(code=code)
