"""Scoring on a real Dask cluster against a local run, whole process, measured together.

    python bench/cluster.py [--rows 10000000] [--workers 2] [--runs 5]

Starts `dask scheduler` and N `dask worker` processes (one thread each) on 127.0.0.1 with the
CLI entry points distributed ships, each worker in its own working and temporary directory (it
gets the model with the job, never the client's registry path). Scores one Parquet file of
`--rows` rows with `fontpipe score --dask-address` into a partitioned output, and the same with
`fontpipe score` alone, alternating the two so that other load on a shared machine falls on
both; prints the medians, Dask/local, every run's time, the first job on fresh workers (which
builds the cube table from the model) apart, and the route's fixed cost (a 1,000-row job on each
route). On a 2-core machine the scheduler, the workers and the client share the cores with each
other, so two workers cannot beat the local run's two threads: the ratio is the route's
overhead. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cube_model, print_table

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_inputs(work: Path, rows: int) -> tuple[Path, Path]:
    """One Parquet file of `rows` random r,g,b rows (row groups of 1 M rows, a part each), and
    a 1,000-row one that measures what a job costs beyond its rows."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    schema = pa.schema([(c, pa.uint8()) for c in "rgb"])
    big = work / "palette.parquet"
    with pq.ParquetWriter(big, schema) as writer:
        for start in range(0, rows, 1_000_000):
            rgb = rng.integers(0, 256, (min(1_000_000, rows - start), 3), dtype=np.uint8)
            writer.write_table(pa.table({c: rgb[:, i] for i, c in enumerate("rgb")}, schema=schema))
    small = work / "small.parquet"
    rgb = rng.integers(0, 256, (1_000, 3), dtype=np.uint8)
    pq.write_table(pa.table({c: rgb[:, i] for i, c in enumerate("rgb")}, schema=schema), small)
    return big, small


def start_cluster(workers: int, work: Path) -> tuple[str, list[subprocess.Popen[bytes]]]:
    """A scheduler and `workers` single-threaded workers, each with its own working and
    temporary directory (a fresh version cache: its first job builds the cube table)."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "error"}
    env.pop("FONTPIPE_DATA", None)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port)]
    started = [
        subprocess.Popen(
            [*scheduler, "--dashboard-address", ":0", "--no-show"],
            env=env,
            start_new_session=True,
            **quiet,
        )
    ]
    for index in range(workers):
        home = work / f"worker-{workers}-{index}"
        (home / "tmp").mkdir(parents=True)
        started.append(
            subprocess.Popen(
                [
                    str(BIN / "dask"),
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--no-dashboard",
                    "--local-directory",
                    str(home),
                ],
                env={**env, "TMPDIR": str(home / "tmp")},
                cwd=home,
                start_new_session=True,
                **quiet,
            )
        )
    from dask.distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(workers, timeout=60)
    return address, started


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        process.wait()


def timed_score(source: Path, out: Path, model: Path, address: str | None) -> float:
    """One whole `fontpipe score` process, start-up included, into a partitioned output."""
    shutil.rmtree(out, ignore_errors=True)
    command = [
        str(BIN / "fontpipe"),
        "score",
        str(source),
        "--out",
        f"{out}/",
        "--model",
        str(model),
    ]
    if address:
        command += ["--dask-address", address]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--workers", default="2", help="worker counts, e.g. 2 or 1,2,4")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="fontpipe-cluster-") as tmp:
        work = Path(tmp)
        big, small = make_inputs(work, args.rows)
        model = cube_model(work)
        # Interleaved, so load from other work on a shared machine falls on both routes alike.
        local_big: list[float] = []
        local_small: list[float] = []
        dask: dict[int, dict[str, Any]] = {}
        for workers in counts:
            address, processes = start_cluster(workers, work)
            try:
                cold = timed_score(big, work / "out", model, address)
                big_times, small_times = [], []
                for _ in range(args.runs):
                    local_big.append(timed_score(big, work / "out", model, None))
                    big_times.append(timed_score(big, work / "out", model, address))
                    local_small.append(timed_score(small, work / "out", model, None))
                    small_times.append(timed_score(small, work / "out", model, address))
            finally:
                stop(processes)
            dask[workers] = {"cold": cold, "big": big_times, "small": small_times}
        baseline = statistics.median(local_big)
        fixed_local = statistics.median(local_small)
        rows = [
            {
                "run": "local (no cluster)",
                "median wall s": baseline,
                "rows/s": args.rows / baseline,
                "x local": 1.0,
                "1,000 rows s": fixed_local,
                "all runs s": " ".join(f"{t:.2f}" for t in local_big),
            }
        ]
        for workers, times in dask.items():
            median = statistics.median(times["big"])
            rows.append(
                {
                    "run": f"Dask, {workers} worker(s)",
                    "median wall s": median,
                    "rows/s": args.rows / median,
                    "x local": median / baseline,
                    "1,000 rows s": statistics.median(times["small"]),
                    "all runs s": " ".join(f"{t:.2f}" for t in times["big"])
                    + f" (first job on fresh workers: {times['cold']:.2f})",
                }
            )
        print_table(
            f"fontpipe score, {args.rows:,} rows in one Parquet file, partitioned output, "
            f"medians of {args.runs} runs, {os.cpu_count()} cores",
            rows,
            ["run", "median wall s", "rows/s", "x local", "1,000 rows s", "all runs s"],
        )
        for workers, times in dask.items():
            fixed = statistics.median(times["small"]) - fixed_local
            print(
                f"Dask route, {workers} worker(s): {fixed:+.2f} s fixed cost over a local run "
                "(1,000 rows); Dask/local on the big file: "
                f"{statistics.median(times['big']) / baseline:.2f}x"
            )


if __name__ == "__main__":
    main()
