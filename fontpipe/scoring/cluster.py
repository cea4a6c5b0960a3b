"""Score parts on a Dask cluster: a client for an address (or a throwaway local cluster), and a
part runner that sends each part to the workers as a plain function call. Nothing of Prefect runs
here or on a worker."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from distributed import Client, LocalCluster

from fontpipe.errors import FontpipeError
from fontpipe.scoring.job import PartRunner
from fontpipe.scoring.part import PartResult, run_part
from fontpipe.scoring.plan import Part, ScoreJob


@contextlib.contextmanager
def dask_client(address: str, *, verbose: bool = False) -> Iterator[Any]:
    """A Dask client for `address`: `local-cluster` starts a throwaway LocalCluster of two worker
    processes here; anything else is the address of a running scheduler.
    `distributed` logs only warnings unless `verbose`."""

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
    and nothing of Prefect, so none starts an API server of its own.

    The job goes to the workers once (scattered to every worker, so a dead worker loses no
    copy), without any path of this machine's registry: it carries the model itself, as bytes
    with their checksum (`ScoreJob.for_workers`). Each worker process verifies it and builds or
    maps the cube table once per model (fontpipe.scoring.columns.job_scorer). Every part is
    submitted at once, so each worker has work queued from the start."""

    def run_parts(job: ScoreJob, parts: Sequence[Part]) -> Iterator[PartResult]:
        if not parts:
            return
        shared = client.scatter(job.for_workers(), broadcast=True, hash=False)
        futures = client.map(run_part, [shared] * len(parts), list(parts), retries=2, pure=False)
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
