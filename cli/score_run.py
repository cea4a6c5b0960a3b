"""`fontpipe score`'s work, apart from typer: the options as plain values in, an exit code out.
The typer command (`cli.scoring.score`) and the quick route (`cli.quick_score`, a plain score
parsed without typer, whose start-up decides small jobs) both call `run_score`, so they print the
same and exit alike."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cli.console import console, err_console, error_line, progress_bar, styled
from cli.json_output import emit_json
from fontpipe.errors import FontpipeError, build_config
from fontpipe.schema import DEFAULT_ANSWER_RULE
from fontpipe.settings import Settings


@dataclass(frozen=True)
class ScoreRequest:
    """`fontpipe score`'s options, as the user gave them (choices as their strings)."""

    inputs: list[str]
    out: str
    model: str = "champion"
    rule: str = DEFAULT_ANSWER_RULE
    on_error: str = "fail"
    color_column: str | None = None
    rgb_columns: str | None = None
    scale: str | None = None
    dask_address: str | None = None
    models_dir: Path | None = None
    verbose: bool = False
    backdrop: str = "white"
    delimiter: str | None = None
    max_reject_rate: float | None = None
    value_style: str = "hex"
    report: Path | None = None
    as_json: bool = False


def run_score(request: ScoreRequest) -> int:
    """Score the inputs into the output, with a progress bar, and print the summary; the exit
    code (3 past --max-reject-rate). Bad input raises FontpipeError."""
    from fontpipe.scoring.plan import ScoreConfig
    from fontpipe.steps import score as score_step

    # A rate of rejects needs rows set aside, not a stop.
    quarantine = request.max_reject_rate is not None
    config = build_config(
        ScoreConfig,
        on_error="quarantine" if quarantine else request.on_error,
        color_column=request.color_column,
        rgb_columns=_channel_names(request.rgb_columns),
        scale=request.scale,
        backdrop=request.backdrop,
        delimiter="\t" if request.delimiter in ("\\t", "tab") else request.delimiter,
        value_style=request.value_style,
        report=str(request.report) if request.report is not None else None,
    )
    settings = Settings.from_env(models_dir=request.models_dir)
    address = request.dask_address or settings.dask_address
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
            client = stack.enter_context(dask_client(address, verbose=request.verbose))
            run_parts = dask_part_runner(client)
        progress = stack.enter_context(progress_bar())
        bar = progress.add_task("score", total=None)
        summary = score_step.run(
            request.inputs,
            request.out,
            config,
            settings,
            model=request.model,
            rule=request.rule,
            run_parts=run_parts,
            rows_done=lambda n: progress.advance(bar, n),
            on_plan=lambda job, done: _show_plan(progress, bar, job, done),
        )
    return _report_score(summary, request.max_reject_rate, request.as_json)


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


def _report_score(summary: Any, max_reject_rate: float | None, as_json: bool) -> int:
    """The summary, as a table or JSON; exit code 3 past --max-reject-rate, else 0."""
    reject_rate = summary.rejected / summary.read if summary.read else 0.0
    too_many = max_reject_rate is not None and reject_rate > max_reject_rate
    if as_json:
        from dataclasses import asdict

        emit_json(
            {**asdict(summary), "reject_rate": reject_rate, "max_reject_rate_exceeded": too_many}
        )
    else:
        _print_summary(summary)
    if too_many:
        err_console.print(
            error_line(
                f"{reject_rate:.2%} of rows were rejected, above --max-reject-rate "
                f"{max_reject_rate:.2%} (output and rejects written in full)"
            ),
            soft_wrap=True,
        )
        return 3
    return 0


def _print_summary(summary: Any) -> None:
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
                f"{summary.rejected:,} rejected rows, with reasons, in {summary.rejects}", "yellow"
            ),
            soft_wrap=True,
        )
