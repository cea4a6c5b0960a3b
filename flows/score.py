"""The `score_palettes` flow: plan parts, score them as tasks (locally or on Dask), assemble."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from fontpipe.registry import resolve_model
from fontpipe.score import (
    Part,
    PartResult,
    ScoreConfig,
    ScoreJob,
    ScoreSummary,
    assemble,
    finished_parts,
    prepare_job,
    run_part,
)
from fontpipe.settings import Settings


@task(name="score-part", retries=2, retry_delay_seconds=2)
def score_part_task(job: ScoreJob, part: Part) -> PartResult:
    # Only the version path travels with the task: each worker process memory-maps the cube
    # table once (fontpipe.score.cached_scorer) and reuses it for every part it scores.
    return run_part(job, part)


def task_runner_for(dask_address: str | None) -> Any:
    """None: Prefect's default local runner. `local-cluster`: a throwaway Dask LocalCluster on
    this machine. Anything else: the address of a running Dask scheduler."""
    if not dask_address:
        return None
    from prefect_dask import DaskTaskRunner

    if dask_address == "local-cluster":
        return DaskTaskRunner(
            cluster_kwargs={"n_workers": 2, "threads_per_worker": 1, "processes": True}
        )
    return DaskTaskRunner(address=dask_address)


@flow(name="score_palettes", log_prints=True)
def score_palettes_flow(
    inputs: list[str],
    out: str,
    model: str = "champion",
    config: ScoreConfig | None = None,
    models_dir: str | None = None,
) -> ScoreSummary:
    import time

    started = time.perf_counter()
    config = config or ScoreConfig()
    version_path = resolve_model(
        model, Path(models_dir) if models_dir else Settings.from_env().models_dir
    )
    job = prepare_job(inputs, Path(out), version_path, config)
    done = finished_parts(job)
    futures = [score_part_task.submit(job, part) for part in job.parts]
    results = [future.result() for future in futures]
    summary = assemble(job, results, time.perf_counter() - started, len(done))
    create_markdown_artifact(
        key="score-summary",
        markdown=(
            f"# Scored `{summary.output}` with model `{summary.model_version}`\n\n"
            f"| read | scored | rejected | black text | AA | rows/s |\n|---:|---:|---:|---:|---:|---:|\n"
            f"| {summary.read:,} | {summary.scored:,} | {summary.rejected:,} | {summary.black_share:.2%} | {summary.aa_share:.2%} | {summary.rows_per_second:,.0f} |\n"
        ),
    )
    print(f"scored {summary.scored:,} of {summary.read:,} rows into {summary.output}")
    return summary


def score_palettes(
    inputs: list[str],
    out: str,
    model: str = "champion",
    config: ScoreConfig | None = None,
    dask_address: str | None = None,
    models_dir: str | None = None,
) -> ScoreSummary:
    """Run the flow with the task runner that `dask_address` asks for."""
    runner = task_runner_for(dask_address)
    target = (
        score_palettes_flow.with_options(task_runner=runner)
        if runner is not None
        else score_palettes_flow
    )
    return target(inputs=inputs, out=out, model=model, config=config, models_dir=models_dir)


if __name__ == "__main__":
    import sys

    print(score_palettes(sys.argv[1:-1], sys.argv[-1]))
