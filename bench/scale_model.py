"""A scale model of bulk scoring: measured here, extrapolated to 1 and 100 billion rows.

    python bench/scale_model.py [--rows 10000000] [--storage-gbps 1.0] [--per-worker-storage-mbps 200]

Measured on this machine, each a whole process on the same 10 M-row inputs:
- scoring throughput per worker: one `fontpipe score` process pinned to one core, Parquet in,
  partitioned Parquet out (rows/s of scoring alone: the run minus an empty job's start-up);
- bytes per row in (r,g,b Parquet) and out (the scored Parquet, all output columns);
- the cube-table broadcast: its size and the time a fresh process takes to verify and map it;
- the single-file assembler: each part encodes its own Parquet file, and one file is made by
  copying their bytes under one footer (fontpipe.scoring.parquet_join); measured as bytes/s of
  joining the partitioned output's files here (the only serial step; a partitioned output has
  none);
- the Dask route's cost: one warm worker process (a LocalCluster of one single-threaded worker)
  against the same parts run one after another in the client, for jobs of 10 and 40 parts of
  10,000 rows; the slope is the per-part overhead (a task's round trip, its result, the marker),
  the rest the route's fixed cost per job (sending the job with its model, once).

The model: a job over R rows on N workers takes
    start-up + broadcast + max(R / (N x per-worker rows/s),
                              R x bytes per row / min(storage bandwidth, N x per-worker bandwidth))
for a partitioned output, plus R x bytes out / min(assembler bytes/s, per-worker bandwidth) when
one file is assembled (one machine reads every part and writes the file), plus on Dask the
route's fixed cost and (R / rows per part) x per-part overhead / N. It prints the estimate for
1e9 and 1e11 rows on 1 to 256 workers and names the bound each time, and the row count from
which N Dask workers beat a local run on this machine's cores. Storage bandwidths are inputs
(object stores vary); nothing else is assumed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cube_model, print_table

FONTPIPE = str(Path(sys.executable).with_name("fontpipe"))


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    return time.perf_counter() - started


def prepare(work: Path, rows: int) -> Path:
    """The model (its cube table built), the r,g,b Parquet input and a one-row one."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    model = cube_model(work)
    rng = np.random.default_rng(0)
    schema = pa.schema([(c, pa.uint8()) for c in "rgb"])
    with pq.ParquetWriter(work / "in.parquet", schema) as writer:
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            rgb = rng.integers(0, 256, (n, 3), dtype=np.uint8)
            writer.write_table(pa.table({c: rgb[:, i] for i, c in enumerate("rgb")}, schema=schema))
    pq.write_table(pa.table({c: np.zeros(1, np.uint8) for c in "rgb"}), work / "empty.parquet")
    return model


def directory_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def measure(work: Path, rows: int, model: Path) -> dict[str, float]:
    one_core = {**os.environ, "OMP_NUM_THREADS": "1"}
    pin = ["taskset", "-c", "0"] if Path("/usr/bin/taskset").exists() else []
    score = [FONTPIPE, "score", "--model", str(model)]
    startup = min(
        timed([*pin, *score, str(work / "empty.parquet"), "--out", f"{work / f'e{i}'}/"], one_core)
        for i in range(3)
    )
    partitioned = min(
        timed([*pin, *score, str(work / "in.parquet"), "--out", f"{work / f'p{i}'}/"], one_core)
        for i in range(3)
    )
    # A single-file output joins the parts' Parquet files by copying their bytes under one
    # footer: its rate is that join over the partitioned output's files.
    join = (
        "import time, pathlib; "
        "from fontpipe.scoring.parquet_join import JoinedParquetFile; "
        f"parts = sorted(pathlib.Path({str(work / 'p0')!r}).glob('part-*.parquet')); "
        f"s = time.perf_counter(); j = JoinedParquetFile({str(work / 'one.parquet')!r}); "
        "[j.append(p) for p in parts]; j.finish(); print(time.perf_counter() - s)"
    )
    join_s = float(
        subprocess.run(
            [sys.executable, "-c", join], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    verify = (
        "import time; t = time.perf_counter(); "
        "from fontpipe.scoring.columns import cached_scorer; "
        f"cached_scorer({str(model)!r}); print(time.perf_counter() - t)"
    )
    broadcast_s = float(
        subprocess.run(
            [sys.executable, "-c", verify], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    per_worker = rows / (partitioned - startup)
    part_s, route_fixed_s = route_overhead(work, model)
    return {
        "part_s": part_s,
        "route_fixed_s": route_fixed_s,
        "startup_s": startup,
        "per_worker_rows_s": per_worker,
        # The assembler's own rate: what a single file costs beyond the partitioned output.
        "assembler_bytes_s": (work / "one.parquet").stat().st_size / join_s,
        "bytes_in": (work / "in.parquet").stat().st_size / rows,
        "bytes_out": directory_bytes(work / "p0") / rows,
        "cube_bytes": (model / "cube.npy").stat().st_size,
        "broadcast_s": broadcast_s,
    }


ROUTE = """
import sys, time
from pathlib import Path
from distributed import Client, LocalCluster
from fontpipe.scoring.cluster import dask_part_runner
from fontpipe.scoring.job import score_files
from fontpipe.scoring.part import run_part
from fontpipe.scoring.plan import ScoreConfig

work, model = Path(sys.argv[1]), Path(sys.argv[2])
config = ScoreConfig(part_rows=10_000, batch_rows=10_000)
in_turn = lambda job, parts: (run_part(job, part) for part in parts)

def best(source, runner, n=3):
    times = []
    for i in range(n):
        out = work / f"route-{time.monotonic_ns()}"
        started = time.perf_counter()
        score_files([str(source)], f"{out}/", model, config, run_parts=runner)
        times.append(time.perf_counter() - started)
    return min(times)

with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                  dashboard_address=None) as cluster, Client(cluster) as client:
    dask = dask_part_runner(client)
    best(work / "parts-10.parquet", dask, 1)  # the worker builds its cube table once
    found = {}
    for parts in (10, 40):
        source = work / f"parts-{parts}.parquet"
        found[parts] = best(source, dask) - best(source, in_turn)
print((found[40] - found[10]) / 30, found[10] - 10 * (found[40] - found[10]) / 30)
"""


def route_overhead(work: Path, model: Path) -> tuple[float, float]:
    """The Dask route's per-part overhead and fixed cost per job, in seconds (see ROUTE)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(1)
    for parts in (10, 40):
        rgb = rng.integers(0, 256, (parts * 10_000, 3), dtype=np.uint8)
        table = pa.table({c: rgb[:, i] for i, c in enumerate("rgb")})
        pq.write_table(table, work / f"parts-{parts}.parquet", row_group_size=10_000)
    done = subprocess.run(
        [sys.executable, "-c", ROUTE, str(work), str(model)],
        capture_output=True,
        text=True,
        check=True,
    )
    per_part, fixed = (float(x) for x in done.stdout.split()[-2:])
    return max(per_part, 0.0), max(fixed, 0.0)


def break_even_rows(workers: int, cores: int, m: dict[str, float], part_rows: float) -> float:
    """Rows from which `workers` Dask workers (one core each) beat a local run on `cores`: the
    local run pays rows / (cores x rate); the route pays its fixed cost, then rows / (workers x
    rate) plus its per-part overhead spread over the workers."""
    rate = m["per_worker_rows_s"]
    saved_per_row = 1 / (cores * rate) - 1 / (workers * rate) - m["part_s"] / (part_rows * workers)
    return m["route_fixed_s"] / saved_per_row if saved_per_row > 0 else float("inf")


def estimate(
    rows: float, workers: int, m: dict[str, float], storage_bps: float, worker_bps: float
) -> tuple[float, str]:
    compute = rows / (workers * m["per_worker_rows_s"])
    bandwidth = min(storage_bps, workers * worker_bps)
    io = rows * (m["bytes_in"] + m["bytes_out"]) / bandwidth
    bound = "scoring (CPU)" if compute >= io else "storage bandwidth"
    # On Dask: the job sent once, and each part's round trip (parts of 1 M rows).
    route = m["route_fixed_s"] + rows / 1e6 * m["part_s"] / workers
    return m["startup_s"] + m["broadcast_s"] + route + max(compute, io), bound


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--storage-gbps", type=float, default=1.0, help="aggregate, GB/s")
    parser.add_argument("--per-worker-storage-mbps", type=float, default=200.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fontpipe-scale-") as tmp:
        work = Path(tmp)
        model = prepare(work, args.rows)
        m = measure(work, args.rows, model)
    print_table(
        f"measured on this machine ({os.cpu_count()} cores), {args.rows:,} rows",
        [
            {"figure": "start-up of a scoring process", "value": f"{m['startup_s']:.2f} s"},
            {
                "figure": "scoring, one worker (one core)",
                "value": f"{m['per_worker_rows_s']:,.0f} rows/s",
            },
            {"figure": "bytes per row in (r,g,b Parquet)", "value": f"{m['bytes_in']:.2f}"},
            {"figure": "bytes per row out (scored Parquet)", "value": f"{m['bytes_out']:.2f}"},
            {
                "figure": "cube table broadcast",
                "value": f"{m['cube_bytes'] / 2**20:.0f} MiB, verified and mapped in {m['broadcast_s']:.2f} s per worker",
            },
            {
                "figure": "Dask route, per part",
                "value": f"{m['part_s'] * 1000:.0f} ms overhead a part (one worker, warm)",
            },
            {
                "figure": "Dask route, per job",
                "value": f"{m['route_fixed_s']:.2f} s fixed (the job and its model sent once)",
            },
            {
                "figure": "single-file assembler (join by copying)",
                "value": f"{m['assembler_bytes_s'] / 1e6:,.0f} MB/s here, "
                f"{m['assembler_bytes_s'] / m['bytes_out']:,.0f} rows/s",
            },
        ],
        ["figure", "value"],
    )
    storage = args.storage_gbps * 1e9
    worker_bps = args.per_worker_storage_mbps * 1e6
    rows_out = []
    for total in (1e9, 1e11):
        for workers in (1, 4, 16, 64, 256):
            seconds, bound = estimate(total, workers, m, storage, worker_bps)
            # One machine reads every part and writes the one file: bound by its own bandwidth.
            assembly = total * m["bytes_out"] / min(m["assembler_bytes_s"], worker_bps)
            rows_out.append(
                {
                    "rows": f"{total:.0e}",
                    "workers": workers,
                    "partitioned output": f"{seconds / 60:,.1f} min",
                    "bound by": bound,
                    "one assembled file": f"{(seconds + assembly) / 60:,.1f} min",
                }
            )
    print_table(
        f"estimate: storage {args.storage_gbps} GB/s in all, {args.per_worker_storage_mbps} MB/s per worker",
        rows_out,
        ["rows", "workers", "partitioned output", "bound by", "one assembled file"],
    )
    cores = os.cpu_count() or 1
    print_table(
        f"where the Dask route pays: rows from which N workers beat a local run on {cores} "
        "cores (CPU-bound, parts of 1 M rows)",
        [
            {"workers": n, "pays from": f"{rows:,.0f} rows" if rows != float("inf") else "never"}
            for n in (cores, 2 * cores, 4 * cores, 16 * cores)
            for rows in [break_even_rows(n, cores, m, 1_000_000)]
        ],
        ["workers", "pays from"],
    )


if __name__ == "__main__":
    main()
