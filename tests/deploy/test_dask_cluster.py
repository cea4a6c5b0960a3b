"""A real Dask cluster: `dask scheduler` and two `dask worker` processes on 127.0.0.1, started
with the CLI entry points `distributed` ships, scoring a multi-file input from a shared directory
through `fontpipe score --dask-address tcp://...` into a partitioned output there.

The workers cannot see the client's model registry: each runs in a mount namespace of its own
with an empty tmpfs over the directory holding it (and the data it was trained on), with its own
working directory, home and temporary directory. What a worker scores with, the job brought."""

from __future__ import annotations

import json
import os
import shlex
import shutil
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


def _scorer_builds():
    from fontpipe.scoring.columns import bundle_scorer_stats

    return bundle_scorer_stats["built"], bundle_scorer_stats["reused"]


def _prefect_loaded():
    return any(name == "prefect" or name.startswith("prefect.") for name in sys.modules)


def _sees(path):
    return os.path.exists(path)


def _why_directories_cannot_be_hidden() -> str | None:
    """Why the workers cannot get a mount namespace of their own here; None when they can."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "hiding the client's data directory from the workers needs root (unshare -m)"
    if shutil.which("unshare") is None:
        return "no unshare(1) to give the workers a mount namespace of their own"
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        return f"unshare -m is refused here: {probe.stderr.decode().strip()[:120]}"
    return None


def _start(command: list[str], **options) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        **options,
    )


@pytest.fixture
def cluster(tmp_path, tiny_version):
    """A scheduler and two single-threaded workers that cannot see the client's registry,
    stopped (all of them) at the end."""
    reason = _why_directories_cannot_be_hidden()
    if reason is not None:
        pytest.skip(reason)
    hidden = tiny_version.parent.parent  # the registry, and the dataset it was trained on
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    # PYTHONPATH: the checks below send this module's functions to the workers by reference.
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "error", "PYTHONPATH": root}
    env.pop("FONTPIPE_DATA", None)
    scheduler = [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port)]
    started = [_start([*scheduler, "--dashboard-address", ":0", "--no-show"], env=env)]
    for name in ("w1", "w2"):
        home = tmp_path / name
        (home / "tmp").mkdir(parents=True)
        worker = [
            str(BIN / "dask"),
            "worker",
            address,
            "--nthreads",
            "1",
            "--name",
            name,
            "--host",
            "127.0.0.1",
            "--no-dashboard",
            "--local-directory",
            str(home),
        ]
        # unshare execs sh, which execs the worker: one process, killable by its group.
        hide = f"mount -t tmpfs -o size=1m fontpipe-hidden {shlex.quote(str(hidden))}"
        started.append(
            _start(
                [
                    "unshare",
                    "-m",
                    "--propagation",
                    "private",
                    "sh",
                    "-c",
                    f"{hide} && exec {shlex.join(worker)}",
                ],
                env={**env, "HOME": str(home), "TMPDIR": str(home / "tmp")},
                cwd=home,
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


def _score_command(address: str, source: Path, out: str, model: Path) -> list[str]:
    return [
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
    ]


@pytest.mark.slow
@pytest.mark.server
def test_workers_that_cannot_see_the_registry_score_like_a_local_run(
    cluster, inputs, tiny_version, tmp_path
):
    from dask.distributed import Client

    address, _ = cluster
    local = score_files([str(inputs)], tmp_path / "local.parquet", tiny_version, PARTS)
    done = subprocess.run(
        _score_command(address, inputs, f"{tmp_path / 'cluster'}/", tiny_version),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (
        pads.dataset(tmp_path / "cluster")
        .to_table()
        .equals(pq.read_table(tmp_path / "local.parquet"))
    )
    summary = json.loads(done.stdout)
    assert summary["read"] == local.read == 600_000 and summary["parts"] == 12  # one per file
    with Client(address) as client:
        builds = client.run(_scorer_builds)
        prefect = client.run(_prefect_loaded)
        sees = client.run(_sees, str(tiny_version / "metadata.json"))
    assert len(builds) == 2 and not any(sees.values())  # the registry is not there for them
    # Each worker built its scorer (the model verified, the cube table built) once, and reused
    # it for every later part.
    assert all(built == 1 for built, _ in builds.values())
    assert sum(built + reused for built, reused in builds.values()) == summary["parts"]
    assert not any(prefect.values())  # no worker imported Prefect, let alone started a server


@pytest.mark.slow
@pytest.mark.server
def test_killing_a_worker_mid_job_still_completes_the_job(cluster, inputs, tiny_version, tmp_path):
    address, processes = cluster
    out = tmp_path / "cluster"
    job = subprocess.Popen(
        _score_command(address, inputs, f"{out}/", tiny_version),
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
