"""Commands that answer for colours: bulk `score` and quick `predict`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import typer

from cli.base import app, emit_json, json_option, user_errors
from cli.choices import ANSWERING_RULE_HELP, OnError, Scale, family_option
from cli.console import console, err_console, progress_bar
from fontpipe.errors import FontpipeError, build_config
from fontpipe.schema import DEFAULT_ANSWER_RULE
from fontpipe.settings import Settings


# Long only because typer declares every option in its signature.
@app.command()
@user_errors
def score(
    inputs: list[str] = typer.Argument(
        ...,
        metavar="INPUT...",
        help="Palette files (CSV, TSV, compressed CSV, Parquet, JSON Lines, design tokens .json, "
        ".css), directories or globs; local, or URLs on a store (s3://, gs://, abfs://, file://).",
    ),
    out: str = typer.Option(
        ...,
        "--out",
        help="Output file (.parquet or .csv decides the format), or a directory ending in / for "
        "a partitioned Parquet dataset (a file per part, _manifest.json, _SUCCESS). A URL "
        "(s3://bucket/prefix/) writes to that store.",
    ),
    model: str = typer.Option("champion", help="champion, a version name, or a version directory."),
    rule: str = family_option(DEFAULT_ANSWER_RULE, ANSWERING_RULE_HELP),
    on_error: OnError = typer.Option(
        OnError.fail, help="fail: stop at the first bad value; quarantine: set bad rows aside."
    ),
    color_column: str | None = typer.Option(
        None, help="The hex / rgb() column, if detection picks wrong."
    ),
    rgb_columns: str | None = typer.Option(None, help="Three channel columns, e.g. R,G,B."),
    scale: Scale | None = typer.Option(None, help="Float channels run 0-1 (1) or 0-255 (255)."),
    dask_address: str | None = typer.Option(
        None, help="Score on a Dask cluster (tcp://host:port or local-cluster)."
    ),
    models_dir: Path | None = typer.Option(None, help="Model registry [default: data/models]."),
    verbose: bool = typer.Option(
        False,
        "--verbose",
        help="Show the Dask cluster's and Prefect's own log lines (quiet by default).",
    ),
    backdrop: str = typer.Option(
        "white", help="Translucent colours are composited over this CSS colour."
    ),
    delimiter: str | None = typer.Option(
        None, help="CSV field separator (, ; | or tab) [default: sniffed from the header]."
    ),
    max_reject_rate: float | None = typer.Option(
        None,
        min=0.0,
        max=1.0,
        help="Exit with code 3 when more than this share of rows is rejected (the output and "
        "the rejects file are still written in full). Implies --on-error quarantine.",
    ),
    as_json: bool = json_option(),
) -> None:
    """Score palette files: P(black), text colour, WCAG contrast and AA for every row."""
    from fontpipe.registry import resolve_model
    from fontpipe.scoring.plan import ScoreConfig, names_a_directory

    if max_reject_rate is not None:
        on_error = OnError.quarantine  # a rate of rejects needs rows set aside, not a stop
    trio = None
    if rgb_columns is not None:
        trio = tuple(c.strip() for c in rgb_columns.split(","))
        if len(trio) != 3:
            raise FontpipeError(
                f"--rgb-columns: expected three names like r,g,b, got {rgb_columns!r}"
            )
    settings = Settings.from_env()
    version_path = resolve_model(model, models_dir or settings.models_dir, rule)
    if delimiter in ("\\t", "tab"):
        delimiter = "\t"
    config = build_config(
        ScoreConfig,
        on_error=on_error.value,
        color_column=color_column,
        rgb_columns=trio,
        scale=scale.value if scale else None,
        backdrop=backdrop,
        delimiter=delimiter,
        partitioned=names_a_directory(out),
    )
    address = dask_address or settings.dask_address
    if address:
        if not verbose:
            # Prefect's flow-run log lines are for a server's UI; the summary table says what
            # the job did. Set before Prefect is imported.
            os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        from flows.local_server import local_api_server

        with local_api_server():
            from flows.score import score_palettes

            summary = score_palettes(
                inputs=inputs,
                out=out,
                model=str(version_path),
                config=config,
                dask_address=address,
                verbose=verbose,
            )
    else:
        from fontpipe.scoring.job import score_files

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
    reject_rate = summary.rejected / summary.read if summary.read else 0.0
    too_many = max_reject_rate is not None and reject_rate > max_reject_rate
    if as_json:
        from dataclasses import asdict

        emit_json(
            {**asdict(summary), "reject_rate": reject_rate, "max_reject_rate_exceeded": too_many}
        )
    else:
        from cli.tables import score_summary_table

        console.print(score_summary_table(summary))
        if summary.rejects:
            console.print(
                f"[yellow]{summary.rejected:,} rejected rows, with reasons, in {summary.rejects}"
            )
    if too_many:
        err_console.print(
            f"[bold red]error:[/] {reject_rate:.2%} of rows were rejected, above "
            f"--max-reject-rate {max_reject_rate:.2%} (output and rejects written in full)",
            soft_wrap=True,
        )
        raise typer.Exit(code=3)


@app.command()
@user_errors
def predict(
    colors: list[str] = typer.Argument(
        None,
        metavar="COLOR...",
        help="Any CSS colour (#rgb[a], #rrggbb[aa], rgb(), hsl(), hwb(), lab(), lch(), oklab(), "
        "oklch(), color(), names) or r,g,b; stdin when none.",
    ),
    model: str = typer.Option("champion", help="champion, a version name, or a version directory."),
    rule: str = family_option(DEFAULT_ANSWER_RULE, ANSWERING_RULE_HELP),
    models_dir: Path | None = typer.Option(None, help="Model registry [default: data/models]."),
    backdrop: str = typer.Option(
        "white", help="Translucent colours are composited over this CSS colour."
    ),
    as_json: bool = json_option(),
) -> None:
    """Quick look-ups: which text colour reads best on each colour."""
    from fontpipe.colors import parse_backdrop
    from fontpipe.predict import predict_colors
    from fontpipe.registry import resolve_model

    version_path = resolve_model(model, models_dir or Settings.from_env().models_dir, rule)
    texts = colors or [line.strip() for line in sys.stdin if line.strip()]
    if not texts:
        raise FontpipeError("no colours given: pass them as arguments or one per line on stdin")
    predictions = predict_colors(version_path, texts, parse_backdrop(backdrop))
    if as_json:
        emit_json(
            {
                "model_version": version_path.name,
                "predictions": [
                    {
                        "color": row.text,
                        "srgb_hex": row.hex,
                        "p_black": row.p_black,
                        "text_color": row.text_color,
                        "contrast_ratio": row.contrast_ratio,
                        "contrast_black": row.contrast_black,
                        "contrast_white": row.contrast_white,
                        "wcag_aa": row.wcag_aa,
                    }
                    for row in predictions
                ],
            }
        )
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(show_header=True, title=f"answered by {version_path.name}")
    numeric = {"P(black)", "contrast", "black text", "white text"}
    for column in (
        "colour",
        "P(black)",
        "text",
        "contrast",
        "AA",
        "black text",
        "white text",
        "swatch",
    ):
        table.add_column(column, justify="right" if column in numeric else "left")
    for row in predictions:
        swatch = Text(f" {row.text} ", style=f"{row.text_color} on {row.hex}")
        table.add_row(
            row.text,
            f"{row.p_black:.4f}",
            row.text_color,
            f"{row.contrast_ratio:.2f}:1",
            Text("pass", style="bold green") if row.wcag_aa else Text("FAIL", style="bold red"),
            f"{row.contrast_black:.2f}:1",
            f"{row.contrast_white:.2f}:1",
            swatch,
        )
    console.print(table)
