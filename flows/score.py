"""The `score_palettes` flow: the library's one score job, with its parts run as Prefect tasks
(locally or on Dask). Planning, assembly and clean-up on error are the job's own
(`fontpipe.scoring.job.run_job`), the same as on the command line."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.futures import wait

from fontpipe.errors import FontpipeError
from fontpipe.registry import resolve_model
from fontpipe.schema import DEFAULT_ANSWER_RULE
from fontpipe.scoring.job import PartRunner, ScoreSummary, prepare_job, run_job
from fontpipe.scoring.part import PartResult, run_part
from fontpipe.scoring.plan import Part, ScoreConfig, ScoreJob, names_a_directory
from fontpipe.settings import Settings
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
    # Only the version path travels with the task: each worker process verifies the model and
    # memory-maps the cube table once (fontpipe.scoring.columns.cached_scorer).
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


@contextlib.contextmanager
def dask_client(address: str, *, verbose: bool = False) -> Iterator[Any]:
    """A Dask client for `address`: `local-cluster` starts a throwaway LocalCluster of two worker
    processes here; anything else is the address of a running scheduler.
    `distributed` logs only warnings unless `verbose`."""
    import logging

    from distributed import Client, LocalCluster

    level = logging.INFO if verbose else logging.WARNING
    logging.getLogger("distributed").setLevel(level)
    if address == "local-cluster":
        with (
            LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=level,
            ) as cluster,
            Client(cluster) as client,  # type: ignore[no-untyped-call]
        ):
            yield client
        return
    # The flow checked the address before preparing the job (nothing may be written first).
    with Client(address, timeout=10) as client:  # type: ignore[no-untyped-call]
        yield client


def dask_part_runner(client: Any) -> PartRunner:
    """Parts as plain function calls on the Dask workers. Workers run the library's `run_part`
    and nothing of Prefect, so none starts an API server of its own; each worker process verifies
    the model and maps the cube table once (fontpipe.scoring.columns.cached_scorer)."""

    def run_parts(job: ScoreJob, parts: Sequence[Part]) -> Iterator[PartResult]:
        futures = client.map(run_part, [job] * len(parts), list(parts), retries=2, pure=False)
        try:
            for future in futures:
                yield future.result()
        except BaseException:
            client.cancel(futures)
            raise

    return run_parts


def check_scheduler_reachable(address: str, timeout: float = 3.0) -> None:
    """A clear error within seconds, before any flow run or file, when no Dask scheduler answers
    at `address` (Dask itself retries for ~45 s and then fails with several tracebacks)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in {"tcp", "tls"} or not parts.hostname or not parts.port:
        raise FontpipeError(
            f"--dask-address {address!r}: expected tcp://host:port (or local-cluster)"
        )
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise FontpipeError(
            f"--dask-address {address}: no Dask scheduler answers there ({reason}); "
            "nothing was written"
        ) from None


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
    """Score palette files (with `rule`'s champion unless `model` names a version). With `dask_address` (tcp://host:port or local-cluster) the parts run
    on that Dask cluster; otherwise each part is a Prefect task here."""
    started = time.perf_counter()
    version_path = resolve_model(
        model, Path(models_dir) if models_dir else Settings.from_env().models_dir, rule
    )
    if dask_address and dask_address != "local-cluster":
        check_scheduler_reachable(dask_address)  # before any file is written
    config = config or ScoreConfig()
    if names_a_directory(out):  # a directory dataset, as the command line says it
        config = config.model_copy(update={"partitioned": True})
    job = prepare_job(inputs, out, version_path, config)
    if dask_address:
        with dask_client(dask_address, verbose=verbose) as client:
            summary = run_job(job, run_parts=dask_part_runner(client), started=started)
    else:
        summary = run_job(job, run_parts=run_parts_as_tasks, started=started)
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
