"""Commands that answer for colours: bulk `score` and quick `predict`."""

from __future__ import annotations

import contextlib
from enum import Enum
from pathlib import Path
from typing import Any

import typer

from cli.base import app, emit_json, json_option, user_errors
from cli.choices import ANSWERING_RULE_HELP, OnError, Scale, family_option
from cli.console import console, err_console, error_line, progress_bar, styled
from fontpipe.errors import FontpipeError, build_config
from fontpipe.schema import DEFAULT_ANSWER_RULE
from fontpipe.settings import Settings


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
    color_column = typer.Option(None, help="The hex / rgb() column, if detection picks wrong.")
    rgb_columns = typer.Option(None, help="Three channel columns, e.g. R,G,B.")
    scale = typer.Option(None, help="Float channels run 0-1 (1) or 0-255 (255).")
    dask_address = typer.Option(
        None, help="Score on a Dask cluster (tcp://host:port or local-cluster)."
    )
    models_dir = typer.Option(None, help="Model registry [default: data/models].")
    verbose = typer.Option(
        False, "--verbose", help="Show the Dask cluster's own log lines (quiet by default)."
    )
    backdrop = typer.Option(
        "white", help="Translucent colours are composited over this CSS colour."
    )
    delimiter = typer.Option(
        None, help="CSV field separator (, ; | or tab) [default: sniffed from the header]."
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
    from fontpipe.scoring.plan import ScoreConfig
    from fontpipe.steps import score as score_step

    if max_reject_rate is not None:
        on_error = OnError.quarantine  # a rate of rejects needs rows set aside, not a stop
    config = build_config(
        ScoreConfig,
        on_error=on_error.value,
        color_column=color_column,
        rgb_columns=_channel_names(rgb_columns),
        scale=scale.value if scale else None,
        backdrop=backdrop,
        delimiter="\t" if delimiter in ("\\t", "tab") else delimiter,
        value_style=value_style.value,
        report=str(report) if report is not None else None,
    )
    settings = Settings.from_env(models_dir=models_dir)
    address = dask_address or settings.dask_address
    with contextlib.ExitStack() as stack:
        run_parts = None
        if address:
            # The parts run on the cluster as plain function calls: no Prefect API is started
            # for a job the user asked to run on Dask (the flow runs it when deployed).
            from fontpipe.scoring.cluster import (
                check_scheduler_reachable,
                dask_client,
                dask_part_runner,
            )

            if address != "local-cluster":
                check_scheduler_reachable(address)
            run_parts = dask_part_runner(stack.enter_context(dask_client(address, verbose=verbose)))
        progress = stack.enter_context(progress_bar())
        bar = progress.add_task("score", total=None)
        summary = score_step.run(
            inputs,
            out,
            config,
            settings,
            model=model,
            rule=rule,
            run_parts=run_parts,
            rows_done=lambda n: progress.advance(bar, n),
            on_plan=lambda job, done: _show_plan(progress, bar, job, done),
        )
    _report_score(summary, max_reject_rate, as_json)


def _channel_names(rgb_columns: str | None) -> tuple[str, ...] | None:
    if rgb_columns is None:
        return None
    trio = tuple(c.strip() for c in rgb_columns.split(","))
    if len(trio) != 3:
        raise FontpipeError(f"--rgb-columns: expected three names like r,g,b, got {rgb_columns!r}")
    return trio


def _show_plan(progress: Any, bar: Any, job: Any, done: set[int]) -> None:
    progress.update(bar, total=job.known_rows)
    if done:
        progress.console.print(f"resuming: {len(done)} of {len(job.parts)} parts already scored")
        # Count the reused parts' rows so the bar still ends at 100 %.
        progress.advance(bar, sum(p.rows or 0 for p in job.parts if p.index in done))


def _report_score(summary: Any, max_reject_rate: float | None, as_json: bool) -> None:
    """The summary, as a table or JSON; exit code 3 past --max-reject-rate."""
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
        if summary.differs_from_wcag and summary.rule == "readable":
            console.print(
                f"{summary.differs_from_wcag:,} rows differ from the browser's contrast-color() "
                "answer (--rule wcag): on each, both black and white text pass WCAG AA, and "
                "white reads stronger by APCA.",
                soft_wrap=True,
            )
        if summary.no_lc_60:
            console.print(
                f"{summary.no_lc_60:,} rows have no comfortable answer: neither black nor white "
                "text reaches APCA Lc 60 there (consider another background).",
                soft_wrap=True,
            )
        if summary.report:
            console.print(f"audit page: {summary.report}", soft_wrap=True)
        if summary.rejects:
            console.print(
                styled(
                    f"{summary.rejected:,} rejected rows, with reasons, in {summary.rejects}",
                    "yellow",
                ),
                soft_wrap=True,
            )
    if too_many:
        err_console.print(
            error_line(
                f"{reject_rate:.2%} of rows were rejected, above --max-reject-rate "
                f"{max_reject_rate:.2%} (output and rejects written in full)"
            ),
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
        "oklch(), color(), names) or r,g,b. None: one per line on stdin (a prompt at a "
        "terminal). '-': answer each line of stdin as it arrives (a table row, or one JSON "
        "object a line with --json); a bad line is answered with its error and the loop goes "
        "on, ending with exit code 2.",
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
    from cli.predict import run_predict

    code = run_predict(colors, model, rule, models_dir, backdrop, as_json)
    if code:
        raise typer.Exit(code=code)
