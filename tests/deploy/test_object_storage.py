"""Scoring on object storage: a real S3-compatible server (moto's standalone server, started here
on 127.0.0.1), read through the same code paths as any store. Inputs are a prefix of Parquet
files and a glob of CSV files; the output is a partitioned dataset committed by `_manifest.json`
and `_SUCCESS`; a job killed with SIGKILL resumes from the parts it committed and ends with the
same result as an uninterrupted local run."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from fontpipe import storage
from fontpipe.errors import FontpipeError
from fontpipe.scoring import remote
from fontpipe.scoring.job import score_files
from fontpipe.scoring.plan import ScoreConfig

# A real S3-compatible server on 127.0.0.1, and real processes killed midway.
pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
BUCKET = "palettes"
PARTS = ScoreConfig(part_rows=20_000, batch_rows=10_000)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def s3():
    """moto's S3 server on a free 127.0.0.1 port, and this process's environment pointed at it
    the way any user's would be: AWS's standard variables, nothing passed to fontpipe."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",  # offline: never ask an instance for credentials
    }
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(endpoint, timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("moto's S3 server did not start") from None
                time.sleep(0.2)
        with pytest.MonkeyPatch.context() as patch:
            for key, value in env.items():
                patch.setenv(key, value)
            import boto3

            client = boto3.client("s3")
            client.create_bucket(Bucket=BUCKET)
            yield client, env
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


def _keys(client, prefix: str) -> list[str]:
    """Object names under `prefix`, without empty "directory/" markers (pyarrow keeps a parent
    directory visible when it deletes the last object in it; every S3 reader ignores them)."""
    found = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return sorted(
        item["Key"][len(prefix) :]
        for item in found
        if not (item["Key"].endswith("/") and item["Size"] == 0)
    )


def _upload(client, key: str, data: bytes) -> None:
    client.put_object(Bucket=BUCKET, Key=key, Body=data)


def _parquet_bytes(table: pa.Table, row_group_size: int) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=row_group_size)
    return sink.getvalue()


def _palette(seed: int, rows: int) -> pa.Table:
    rgb = np.random.default_rng(seed).integers(0, 256, (rows, 3), dtype=np.uint8)
    start = seed * 1_000_000
    return pa.table(
        {"id": np.arange(start, start + rows), "r": rgb[:, 0], "g": rgb[:, 1], "b": rgb[:, 2]}
    )


def _read_dataset(client, prefix: str) -> pa.Table:
    """The committed output as a reader should take it: only with `_SUCCESS`, and only the
    files `_manifest.json` lists."""
    assert "_SUCCESS" in _keys(client, prefix)
    manifest = json.loads(
        client.get_object(Bucket=BUCKET, Key=f"{prefix}_manifest.json")["Body"].read()
    )
    filesystem, _ = storage.resolve(f"s3://{BUCKET}/")
    files = [f"{BUCKET}/{prefix}{entry['file']}" for entry in manifest["files"]]
    table = pads.dataset(files, filesystem=filesystem, format="parquet").to_table()
    assert table.num_rows == manifest["rows"]
    return table


def test_a_prefix_of_parquet_and_a_glob_of_csv_score_as_they_do_locally(s3, tiny_version, tmp_path):
    client, _ = s3
    local = tmp_path / "local"
    local.mkdir()
    for i in range(3):
        table = _palette(i, 30_000)
        data = _parquet_bytes(table, 10_000)
        _upload(client, f"in/parquet/day={i}/colours.parquet", data)
        (local / f"colours-{i}.parquet").write_bytes(data)
    _upload(client, "in/parquet/README.txt", b"not a palette: skipped by the prefix listing")
    for i in range(2):
        sink = io.BytesIO()
        pacsv.write_csv(_palette(10 + i, 5_000), sink)
        _upload(client, f"in/csv/part-{i}.csv", sink.getvalue())
        (local / f"part-{i}.csv").write_bytes(sink.getvalue())

    summary = score_files(
        [f"s3://{BUCKET}/in/parquet/"], f"s3://{BUCKET}/out/parquet/", tiny_version, PARTS
    )
    assert summary.output == f"s3://{BUCKET}/out/parquet/" and summary.scored == 90_000
    keys = _keys(client, "out/parquet/")
    assert keys == ["_SUCCESS", "_manifest.json", *[f"part-{i:05d}.parquet" for i in range(6)]]
    expected = pq.read_table(
        score_files(
            [str(local / f"colours-{i}.parquet") for i in range(3)],
            tmp_path / "parquet.parquet",
            tiny_version,
            PARTS,
        ).output
    )
    assert _read_dataset(client, "out/parquet/").equals(expected)

    # A glob over CSV files into one object on the store: assembled locally, uploaded whole.
    csv_summary = score_files(
        [f"s3://{BUCKET}/in/csv/part-*.csv"], f"s3://{BUCKET}/out/csv.csv", tiny_version, PARTS
    )
    assert csv_summary.scored == 10_000
    local_csv = score_files(
        [str(local / "part-0.csv"), str(local / "part-1.csv")],
        tmp_path / "csv.csv",
        tiny_version,
        PARTS,
    )
    body = client.get_object(Bucket=BUCKET, Key="out/csv.csv")["Body"].read()
    assert body == Path(local_csv.output).read_bytes()
    assert _keys(client, "out/csv") == [".csv"]  # no working files beside it

    # One prefix holding both formats (the note skipped), into CSV, which holds them both: the
    # store's listing order, as a local directory's.
    mixed = score_files([f"s3://{BUCKET}/in/"], tmp_path / "mixed.csv", tiny_version, PARTS)
    in_order = [
        *(str(local / f"part-{i}.csv") for i in range(2)),
        *(str(local / f"colours-{i}.parquet") for i in range(3)),
    ]
    local_mixed = score_files(in_order, tmp_path / "mixed-local.csv", tiny_version, PARTS)
    assert mixed.read == 100_000 and mixed.parts == local_mixed.parts == 8
    assert (tmp_path / "mixed.csv").read_bytes() == (tmp_path / "mixed-local.csv").read_bytes()


def test_a_killed_job_resumes_from_its_committed_parts(s3, tiny_version, tmp_path):
    client, env = s3
    for i in range(24):
        _upload(client, f"big/colours-{i:02d}.parquet", _parquet_bytes(_palette(i, 60_000), 60_000))
    command = [
        str(BIN / "fontpipe"),
        "score",
        f"s3://{BUCKET}/big/",
        "--out",
        f"s3://{BUCKET}/resumed/",
        "--model",
        str(tiny_version),
        "--json",
    ]
    run_env = {**os.environ, **env}
    first = subprocess.Popen(
        command, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while not any(k.endswith(".json") for k in _keys(client, "resumed/_parts/part-")):
        assert first.poll() is None, first.stderr.read().decode()
        assert time.monotonic() < deadline, "no part was committed in time"
        time.sleep(0.02)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    left = _keys(client, "resumed/")
    assert "_SUCCESS" not in left and "_manifest.json" not in left  # nothing claims completeness
    committed = [k for k in left if k.startswith("_parts/part-") and k.endswith(".json")]
    assert 1 <= len(committed) < 24

    second = subprocess.run(command, env=run_env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout)
    assert summary["parts"] == 24 and summary["parts_reused"] >= len(committed)
    assert summary["read"] == summary["scored"] == 24 * 60_000
    assert not [k for k in _keys(client, "resumed/") if k.startswith("_parts/")]

    local = tmp_path / "local"
    local.mkdir()
    for i in range(24):
        pq.write_table(_palette(i, 60_000), local / f"colours-{i:02d}.parquet")
    expected = pq.read_table(
        score_files([str(local)], tmp_path / "all.parquet", tiny_version, PARTS).output
    )
    assert _read_dataset(client, "resumed/").equals(expected)


def test_bad_rows_and_bad_places_are_one_line_errors_and_leave_nothing(s3, tiny_version):
    client, _ = s3
    _upload(client, "bad/colours.csv", b"hex\n#ffffff\n#12345g\n")
    with pytest.raises(FontpipeError, match=r"s3://palettes/bad/colours.csv: row 2"):
        score_files([f"s3://{BUCKET}/bad/"], f"s3://{BUCKET}/bad-out/", tiny_version, PARTS)
    assert _keys(client, "bad-out/") == []

    quarantined = score_files(
        [f"s3://{BUCKET}/bad/colours.csv"],
        f"s3://{BUCKET}/quarantined/",
        tiny_version,
        PARTS.model_copy(update={"on_error": "quarantine"}),
    )
    assert (
        quarantined.rejected == 1
        and quarantined.rejects == f"s3://{BUCKET}/quarantined.rejects.csv"
    )
    rejects = client.get_object(Bucket=BUCKET, Key="quarantined.rejects.csv")["Body"].read()
    assert b"#12345g" in rejects and rejects.startswith(b"source_file,row")

    with pytest.raises(FontpipeError, match="no such file, and no palette files"):
        score_files([f"s3://{BUCKET}/nothing-here/"], f"s3://{BUCKET}/x/", tiny_version, PARTS)
    with pytest.raises(FontpipeError, match="already holds a committed output"):
        score_files([f"s3://{BUCKET}/bad/"], f"s3://{BUCKET}/quarantined/", tiny_version, PARTS)
    with pytest.raises(FontpipeError, match="bucket or container 'no-such-bucket' does not exist"):
        score_files([f"s3://{BUCKET}/bad/"], "s3://no-such-bucket/out/", tiny_version, PARTS)
    with pytest.raises(FontpipeError, match="s3://no-such-bucket"):
        score_files(["s3://no-such-bucket/in/"], f"s3://{BUCKET}/y/", tiny_version, PARTS)


def _other_job(client, prefix: str, *, job_json: bool = True) -> list[str]:
    """What another job leaves on a prefix it has not committed (it may still be running on
    another machine): a part, its marker and, unless told otherwise, its job.json."""
    other = {"fingerprint": "f" * 20, "inputs": ["s3://palettes/theirs.csv"], "model": "v0"}
    other |= {"pid": 4242, "host": "elsewhere", "started": "2030-01-01T00:00:00+00:00"}
    if job_json:
        _upload(client, f"{prefix}_parts/job.json", json.dumps(other).encode())
    _upload(client, f"{prefix}part-00000.parquet", _parquet_bytes(_palette(7, 10), 10))
    marker = {"job": "f" * 20, "index": 0, "read": 10, "scored": 10}
    _upload(client, f"{prefix}_parts/part-00000.json", json.dumps(marker).encode())
    return _keys(client, prefix)


def test_another_jobs_parts_on_a_prefix_are_refused_never_taken_over(s3, tiny_version):
    client, _ = s3
    _upload(client, "mine/colours.csv", b"hex\n#ffffff\n#000000\n")
    before = _other_job(client, "theirs/")
    with pytest.raises(FontpipeError) as error:
        score_files([f"s3://{BUCKET}/mine/"], f"s3://{BUCKET}/theirs/", tiny_version, PARTS)
    message = str(error.value)
    assert "holds the uncommitted parts of another score job" in message
    assert "inputs s3://palettes/theirs.csv" in message and "pid 4242 on elsewhere" in message
    assert _keys(client, "theirs/") == before  # nothing of theirs removed, no _SUCCESS
    # Parts and markers without a job.json are no job's to take up either.
    before = _other_job(client, "unowned/", job_json=False)
    with pytest.raises(FontpipeError, match="another score job"):
        score_files([f"s3://{BUCKET}/mine/"], f"s3://{BUCKET}/unowned/", tiny_version, PARTS)
    assert _keys(client, "unowned/") == before


def test_a_job_whose_prefix_another_claims_meanwhile_publishes_nothing(s3, tiny_version):
    client, _ = s3
    _upload(client, "race/colours.csv", b"hex\n#ffffff\n#000000\n")
    taken = {}

    def another_job_claims_it(job, done):
        # Two jobs that found the prefix empty at the same moment: the other's job.json won.
        taken["keys"] = _other_job(client, "raced/")

    with pytest.raises(FontpipeError, match="claimed this prefix while this one ran"):
        score_files(
            [f"s3://{BUCKET}/race/"],
            f"s3://{BUCKET}/raced/",
            tiny_version,
            PARTS,
            on_plan=another_job_claims_it,
        )
    assert _keys(client, "raced/") == taken["keys"]  # its files left to it, no _SUCCESS
    assert not remote.work_dir_for(f"s3://{BUCKET}/raced/").exists()


@pytest.mark.parametrize("out", ["cut-out/", "cut-out.csv"])
def test_a_truncated_gz_on_a_store_is_one_line_and_leaves_nothing(s3, tiny_version, out):
    client, _ = s3
    colours = np.random.default_rng(0).integers(0, 1 << 24, 400_000)
    sink = io.BytesIO()
    with pa.CompressedOutputStream(pa.PythonFile(sink, mode="w"), "gzip") as stream:
        stream.write(b"color\n" + b"".join(b"#%06x\n" % c for c in colours))
        stream.flush()
        data = sink.getvalue()
    _upload(client, "cut/colours.csv.gz", data[: len(data) // 2])
    url = f"s3://{BUCKET}/{out}"
    with pytest.raises(FontpipeError) as error:
        score_files([f"s3://{BUCKET}/cut/colours.csv.gz"], url, tiny_version, PARTS)
    message = str(error.value)
    assert message.startswith(f"s3://{BUCKET}/cut/colours.csv.gz: the compressed file is cut")
    assert _keys(client, out.rstrip("/")) == []
    assert not remote.work_dir_for(url).exists()
