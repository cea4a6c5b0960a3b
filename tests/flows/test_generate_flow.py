from __future__ import annotations

from fontpipe.data.datasets import open_dataset


def test_generate_flow_writes_then_caches(prefect_harness, tmp_path):
    from prefect.artifacts import Artifact

    from flows.generate import generate_dataset

    out = tmp_path / "ds"
    first = generate_dataset(rows=4_000, seed=1, out=str(out), return_state=True)
    assert first.is_completed()
    result = first.result()
    assert result.reused is False
    assert open_dataset(out).manifest["rows"] == 4000
    manifest_mtime = (out / "manifest.json").stat().st_mtime_ns

    second_state = generate_dataset(rows=4_000, seed=1, out=str(out), return_state=True)
    second = second_state.result()
    assert second.fingerprint == result.fingerprint
    assert _write_task_states(second_state) == ["Cached"]
    assert (out / "manifest.json").stat().st_mtime_ns == manifest_mtime

    artifact = Artifact.get("dataset-summary")
    assert artifact is not None and "| train | 3,200 |" in str(artifact.data)


def test_generate_flow_cache_misses_when_the_dataset_was_deleted(prefect_harness, tmp_path):
    import shutil

    from flows.generate import generate_dataset

    out = tmp_path / "ds"
    generate_dataset(rows=2_000, seed=5, out=str(out))
    shutil.rmtree(out)
    again = generate_dataset(rows=2_000, seed=5, out=str(out))
    assert again.reused is False
    assert open_dataset(out).manifest["rows"] == 2000


def _write_task_states(flow_state):
    from prefect import get_client

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs()
    flow_run_id = flow_state.state_details.flow_run_id
    return [
        r.state.name
        for r in runs
        if r.flow_run_id == flow_run_id and r.name.startswith("write-dataset")
    ]
