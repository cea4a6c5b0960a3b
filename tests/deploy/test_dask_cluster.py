"""A real Dask cluster: `dask scheduler` and two `dask worker` processes on 127.0.0.1, started
with the CLI entry points `distributed` ships, scoring a multi-file input through
`fontpipe score --dask-address tcp://...` into a partitioned output."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from fontpipe.scoring.job import score_files
from fontpipe.scoring.plan import ScoreConfig, parts_dir_for

BIN = Path(sys.executable).parent
PARTS = ScoreConfig(part_rows=50_000, batch_rows=25_000)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _scorer_loads():
    from fontpipe.scoring.columns import cached_scorer

    info = cached_scorer.cache_info()
    return info.misses, info.hits


def _prefect_loaded():
    return any(name == "prefect" or name.startswith("prefect.") for name in sys.modules)


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and two single-threaded workers, stopped (all of them) at the end."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    # PYTHONPATH: the checks below send this module's functions to the workers by reference.
    root = str(Path(__file__).resolve().parents[2])
    quiet = {**os.environ, "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "error", "PYTHONPATH": root}
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
            env=quiet,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    ]
    for name in ("w1", "w2"):
        started.append(
            subprocess.Popen(
                [
                    str(BIN / "dask"),
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--nworkers",
                    "1",
                    "--name",
                    name,
                    "--host",
                    "127.0.0.1",
                    "--no-dashboard",
                    "--local-directory",
                    str(tmp_path / name),
                ],
                env=quiet,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
    from dask.distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=60)
    try:
        yield address, started
    finally:
        for process in started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Twelve Parquet files (a part each), 600,000 rows in all."""
    root = tmp_path_factory.mktemp("palettes")
    rng = np.random.default_rng(8)
    for index in range(12):
        rgb = rng.integers(0, 256, (50_000, 3), dtype=np.uint8)
        pq.write_table(
            pa.table(
                {
                    "id": np.arange(50_000) + index * 50_000,
                    "r": rgb[:, 0],
                    "g": rgb[:, 1],
                    "b": rgb[:, 2],
                }
            ),
            root / f"palette-{index:02d}.parquet",
            row_group_size=50_000,
        )
    return root


def _score(address: str, source: Path, out: str, model: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(BIN / "fontpipe"),
            "score",
            str(source),
            "--out",
            out,
            "--model",
            str(model),
            "--dask-address",
            address,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
@pytest.mark.server
def test_a_real_cluster_scores_like_a_local_run(cluster, inputs, tiny_version, tmp_path):
    from dask.distributed import Client

    address, _ = cluster
    local = score_files([str(inputs)], tmp_path / "local.parquet", tiny_version, PARTS)
    done = _score(address, inputs, f"{tmp_path / 'cluster'}/", tiny_version)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (
        pads.dataset(tmp_path / "cluster")
        .to_table()
        .equals(pq.read_table(tmp_path / "local.parquet"))
    )
    summary = json.loads(done.stdout)
    assert summary["read"] == local.read == 600_000 and summary["parts"] == 12  # one per file
    with Client(address) as client:
        loads = client.run(_scorer_loads)
        prefect = client.run(_prefect_loaded)
    assert len(loads) == 2
    assert all(misses == 1 for misses, _ in loads.values())  # the cube table once per worker
    assert sum(misses + hits for misses, hits in loads.values()) == summary["parts"]
    assert not any(prefect.values())  # no worker imported Prefect, let alone started a server


@pytest.mark.slow
@pytest.mark.server
def test_killing_a_worker_mid_job_still_completes_the_job(cluster, inputs, tiny_version, tmp_path):
    address, processes = cluster
    out = tmp_path / "cluster"
    job = subprocess.Popen(
        [
            str(BIN / "fontpipe"),
            "score",
            str(inputs),
            "--out",
            f"{out}/",
            "--model",
            str(tiny_version),
            "--dask-address",
            address,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    markers = parts_dir_for(out)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(markers.glob("part-*.json"))) < 2:
        time.sleep(0.02)
    os.killpg(processes[1].pid, signal.SIGKILL)  # worker w1, mid-job
    _, stderr = job.communicate(timeout=600)
    assert job.returncode == 0, stderr[-3000:]
    reference = score_files([str(inputs)], tmp_path / "local.parquet", tiny_version, PARTS)
    assert reference.read == 600_000
    assert pads.dataset(out).to_table().equals(pq.read_table(tmp_path / "local.parquet"))
