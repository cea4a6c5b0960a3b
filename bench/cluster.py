"""Scoring on a real Dask cluster of 1 and 2 workers, whole process.

    python bench/cluster.py [--files 16] [--rows-per-file 1000000] [--runs 3]

Starts `dask scheduler` and N `dask worker` processes (one thread each) on 127.0.0.1 with the
CLI entry points distributed ships, scores the same multi-file Parquet input with
`fontpipe score --dask-address` into a partitioned output, and prints median wall time and
rows/s for N = 1 and 2, beside the local run (`fontpipe score` without a cluster) measured in
the same run. On a 2-core machine the scheduler, the workers and the client share the cores, so
2 workers show the per-worker overhead more than a speed-up. Nothing is asserted.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cube_model, print_table

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_inputs(work: Path, files: int, rows: int) -> Path:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = work / "palettes"
    root.mkdir()
    rng = np.random.default_rng(0)
    for index in range(files):
        rgb = rng.integers(0, 256, (rows, 3), dtype=np.uint8)
        pq.write_table(
            pa.table({"r": rgb[:, 0], "g": rgb[:, 1], "b": rgb[:, 2]}),
            root / f"palette-{index:03d}.parquet",
        )
    return root


def start_cluster(workers: int, work: Path) -> tuple[str, list[subprocess.Popen[bytes]]]:
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "error"}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    started = [
        subprocess.Popen(
            [
                str(BIN / "dask"),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--dashboard-address",
                ":0",
                "--no-show",
            ],
            env=env,
            start_new_session=True,
            **quiet,
        )
    ]
    for index in range(workers):
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
                    str(work / f"w{index}"),
                ],
                env=env,
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
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--rows-per-file", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = args.files * args.rows_per_file
    with tempfile.TemporaryDirectory(prefix="fontpipe-cluster-") as tmp:
        work = Path(tmp)
        source = make_inputs(work, args.files, args.rows_per_file)
        model = cube_model(work)
        results = []
        local = [timed_score(source, work / "out", model, None) for _ in range(args.runs)]
        results.append({"run": "local (no cluster)", "median wall s": statistics.median(local)})
        for workers in (1, 2):
            address, processes = start_cluster(workers, work)
            try:
                times = [
                    timed_score(source, work / "out", model, address) for _ in range(args.runs)
                ]
            finally:
                stop(processes)
            results.append(
                {"run": f"Dask, {workers} worker(s)", "median wall s": statistics.median(times)}
            )
        for row in results:
            row["rows/s"] = rows / row["median wall s"]
        print_table(
            f"fontpipe score, {rows:,} rows in {args.files} Parquet files, partitioned output",
            results,
            ["run", "median wall s", "rows/s"],
        )


if __name__ == "__main__":
    main()
