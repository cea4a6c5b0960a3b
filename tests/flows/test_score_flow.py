from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fontpipe.scoring.job import score_files
from fontpipe.scoring.plan import ScoreConfig


@pytest.fixture
def palette(tmp_path):
    rgb = np.random.default_rng(3).integers(0, 256, (60_000, 3), dtype=np.uint8)
    path = tmp_path / "palette.parquet"
    pq.write_table(
        pa.table({"id": np.arange(len(rgb)), "r": rgb[:, 0], "g": rgb[:, 1], "b": rgb[:, 2]}),
        path,
        row_group_size=10_000,
    )
    return path


CONFIG = ScoreConfig(part_rows=10_000)


def test_flow_with_the_local_runner_matches_the_library(
    prefect_harness, tiny_version, palette, tmp_path
):
    from flows.score import score_palettes

    local = score_files([str(palette)], tmp_path / "local.parquet", tiny_version, CONFIG)
    summary = score_palettes(
        [str(palette)], str(tmp_path / "flow.parquet"), model=str(tiny_version), config=CONFIG
    )
    assert summary.parts == local.parts == 6
    assert pq.read_table(tmp_path / "flow.parquet").equals(
        pq.read_table(tmp_path / "local.parquet")
    )


def test_flow_single_part_job_writes_real_parquet(prefect_harness, tiny_version, tmp_path):
    from flows.score import score_palettes

    source = tmp_path / "small.csv"
    source.write_text("color\n#ffffff\n#000000\n")
    summary = score_palettes([str(source)], str(tmp_path / "out.parquet"), model=str(tiny_version))
    assert summary.parts == 1
    assert pq.read_table(tmp_path / "out.parquet").column("text_color").to_pylist() == [
        "black",
        "white",
    ]


@pytest.mark.slow
def test_flow_on_a_real_dask_local_cluster_matches_the_local_run(
    prefect_harness, tiny_version, palette, tmp_path
):
    from dask.distributed import Client, LocalCluster

    from flows.score import score_palettes

    local = score_files([str(palette)], tmp_path / "local.parquet", tiny_version, CONFIG)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        summary = score_palettes(
            [str(palette)],
            str(tmp_path / "dask.parquet"),
            model=str(tiny_version),
            config=CONFIG,
            dask_address=cluster.scheduler_address,
        )
        with Client(cluster) as client:
            loads = client.run(_scorer_loads)
            prefect_in_workers = client.run(_prefect_loaded)
    # The parts ran as plain library calls: no worker imported Prefect, let alone started a
    # Prefect API server of its own.
    assert not any(prefect_in_workers.values()), prefect_in_workers
    assert len(loads) == 2  # two worker processes
    # Each worker loaded the cube table at most once, however many of the 6 parts it scored.
    assert all(misses <= 1 for misses, _ in loads.values())
    assert sum(misses + hits for misses, hits in loads.values()) == 6
    assert summary.read == local.read == 60_000
    assert pq.read_table(tmp_path / "dask.parquet").equals(
        pq.read_table(tmp_path / "local.parquet")
    )


def _scorer_loads():
    # Workers get the model with the job (not its path): scorers built, and reused.
    from fontpipe.scoring.columns import bundle_scorer_stats

    return bundle_scorer_stats["built"], bundle_scorer_stats["reused"]


def _prefect_loaded():
    import sys

    return any(name == "prefect" or name.startswith("prefect.") for name in sys.modules)
