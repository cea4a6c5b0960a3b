"""The `score_palettes` flow: the library's one score step (`fontpipe.steps.score`), with its
parts run as Prefect tasks here, with retries, or on a Dask cluster. Planning, assembly and
clean-up on error are the step's own, the same as on the command line."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.futures import wait

from fontpipe.errors import FontpipeError
from fontpipe.schema import DEFAULT_ANSWER_RULE
from fontpipe.scoring.cluster import check_scheduler_reachable, dask_client, dask_part_runner
from fontpipe.scoring.job import PartRunner, ScoreSummary
from fontpipe.scoring.part import PartResult, run_part
from fontpipe.scoring.plan import Part, ScoreConfig, ScoreJob
from fontpipe.settings import Settings
from fontpipe.steps import score as score_step
from fontpipe.summaries import score_markdown


def _retry_unless_bad_input(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a part that failed for a passing reason, never one that found bad input."""
    try:
        state.result()
    except FontpipeError:
        return False
    except Exception:
        return True
    return True


@task(
    name="score-part",
    retries=2,
    retry_delay_seconds=2,
    retry_condition_fn=_retry_unless_bad_input,
    timeout_seconds=2 * 3600,
)
def score_part_task(job: ScoreJob, part: Part) -> PartResult:
    # Tasks run here, beside the registry: the job's version directory is verified and its cube
    # table mapped once per process (fontpipe.scoring.columns.job_scorer). On Dask the flow
    # sends the job without that path; the model travels in it (ScoreJob.for_workers).
    return run_part(job, part)


def run_parts_as_tasks(job: ScoreJob, parts: Sequence[Part]) -> Iterator[PartResult]:
    """The job's part runner: every part submitted at once, results yielded in part order."""
    futures = [score_part_task.submit(job, part) for part in parts]
    try:
        for future in futures:
            yield future.result()
    except BaseException:
        # Parts not started yet are cancelled; running ones finish, so the job's clean-up after
        # the failure cannot race a part still writing into the parts directory.
        for future in futures:
            cancel = getattr(getattr(future, "wrapped_future", None), "cancel", None)
            if cancel is not None:
                cancel()
        wait(futures)
        raise


@flow(name="score_palettes", log_prints=True)
def score_palettes_flow(
    inputs: list[str],
    out: str,
    model: str = "champion",
    config: ScoreConfig | None = None,
    models_dir: str | None = None,
    dask_address: str | None = None,
    verbose: bool = False,
    rule: str = DEFAULT_ANSWER_RULE,
) -> ScoreSummary:
    """Score palette files (with `rule`'s champion unless `model` names a version). With
    `dask_address` (tcp://host:port or local-cluster) the parts run on that Dask cluster;
    otherwise each part is a Prefect task here."""
    settings = Settings.from_env(models_dir=models_dir)
    if dask_address and dask_address != "local-cluster":
        check_scheduler_reachable(dask_address)  # before any file is written
    with contextlib.ExitStack() as stack:
        run_parts: PartRunner = run_parts_as_tasks
        if dask_address:
            client = stack.enter_context(dask_client(dask_address, verbose=verbose))
            run_parts = dask_part_runner(client)
        summary = score_step.run(
            inputs,
            out,
            config or ScoreConfig(),
            settings,
            model=model,
            rule=rule,
            run_parts=run_parts,
        )
    create_markdown_artifact(key="score-summary", markdown=score_markdown(summary))
    print(f"scored {summary.scored:,} of {summary.read:,} rows into {summary.output}")
    return summary


def score_palettes(
    inputs: list[str],
    out: str,
    model: str = "champion",
    config: ScoreConfig | None = None,
    dask_address: str | None = None,
    models_dir: str | None = None,
    verbose: bool = False,
) -> ScoreSummary:
    """Run the flow; an unreachable scheduler is refused before the flow (and its API) starts."""
    if dask_address and dask_address != "local-cluster":
        check_scheduler_reachable(dask_address)
    return score_palettes_flow(
        inputs=inputs,
        out=out,
        model=model,
        config=config,
        models_dir=models_dir,
        dask_address=dask_address,
        verbose=verbose,
    )


if __name__ == "__main__":
    import sys

    print(score_palettes(sys.argv[1:-1], sys.argv[-1]))
