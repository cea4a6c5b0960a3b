"""The audit's scoring cases: bytes that are not UTF-8, rows of the wrong width, truncated
compressed files (locally and on a store), two jobs on one output, a staging directory that is a
symbolic link, and the row numbers of a compressed CSV. Each runs the real `fontpipe` command.

`cases(audit)` is read by bench/audit.py; the store cases start moto's S3 server on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import itertools
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from audit import verdict

Case = tuple[str, str, Callable[[], str]]
_SERIAL = itertools.count()
BUCKET = "audit"


def _case_dir(audit: Any) -> Path:
    folder = audit.work / "scoring" / f"case-{next(_SERIAL)}"
    folder.mkdir(parents=True)
    return folder


def _left(folder: Path) -> str:
    """What a finished command left in its folder that is not an input or an output: hidden
    staging, lock and .tmp-* files."""
    left = sorted(p.name for p in folder.iterdir() if p.name.startswith("."))
    return f"left: {', '.join(left) or 'nothing'}"


def _score(audit: Any, data: bytes, name: str, *extra: object) -> tuple[str, Path, Path]:
    """Score `data` (written to `name`) into out.csv of a fresh folder: verdict, output, folder."""
    folder = _case_dir(audit)
    source = folder / name
    source.write_bytes(data)
    out = folder / "out.csv"
    code, output = audit.fontpipe("score", source, "--out", out, "--model", audit.version, *extra)
    return verdict(code, output), out, folder


def _colours(rows: int) -> bytes:
    values = np.random.default_rng(0).integers(0, 1 << 24, rows)
    return b"color\n" + b"".join(b"#%06x\n" % v for v in values)


def _truncated(codec: str) -> bytes:
    import pyarrow as pa

    sink = io.BytesIO()
    # More rows than the header check's first megabyte, so the job itself meets the cut.
    with pa.CompressedOutputStream(pa.PythonFile(sink, mode="w"), codec) as stream:
        stream.write(_colours(400_000))
        stream.flush()
        data = sink.getvalue()
    return data[: len(data) // 2]


def _not_utf8(audit: Any, *extra: str) -> str:
    got, out, folder = _score(
        audit, b"name,color\nok,#ffffff\nbad,#ff\xe9fff\n", "latin.csv", *extra
    )
    rejects = out.with_name("out.csv.rejects.csv")
    if rejects.exists():
        kept = b'"#ff\xe9fff","invalid UTF-8","bad","#ff\xe9fff"' in rejects.read_bytes()
        got += f"; row kept byte for byte: {kept}"
    return f"{got}; {_left(folder)}"


def _wrong_width(audit: Any) -> str:
    got, out, _ = _score(
        audit, b"color,note\n#fff,a,b\n#000,c,d\n", "wide.csv", "--on-error", "quarantine"
    )
    rejects = out.with_name("out.csv.rejects.csv")
    rows = rejects.read_text().count("wrong column count") if rejects.exists() else 0
    return f"{got}; rejected as wrong width: {rows} of 2"


def _truncated_local(audit: Any, codec: str, suffix: str) -> str:
    got, _, folder = _score(
        audit, _truncated(codec), f"cut.csv{suffix}", "--on-error", "quarantine"
    )
    return f"{got}; {_left(folder)}"


def _gz_row_numbers(audit: Any) -> str:
    data = gzip.compress(b"name,color\na,#ffffff\nb,#zzz\n")
    return _score(audit, data, "rows.csv.gz")[0]


def _symlinked_staging(audit: Any) -> str:
    folder = _case_dir(audit)
    (folder / "in.csv").write_text("color\n#ffffff\n")
    elsewhere = folder / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("not the job's")
    (folder / ".out.csv.parts").symlink_to(elsewhere, target_is_directory=True)
    code, output = audit.fontpipe(
        "score", folder / "in.csv", "--out", folder / "out.csv", "--model", audit.version
    )
    untouched = sorted(os.listdir(elsewhere)) == ["keep.txt"]
    (folder / ".out.csv.parts").unlink()  # planted here: not a leftover of the job
    return f"{verdict(code, output)}; link target untouched: {untouched}; {_left(folder)}"


# A job slowed down by its progress callback, so that a second one certainly meets it running.
_SLOW_JOB = """
import sys, time
from pathlib import Path
from fontpipe.scoring.job import score_files
from fontpipe.scoring.plan import ScoreConfig
score_files([sys.argv[1]], Path(sys.argv[2]), Path(sys.argv[3]),
            ScoreConfig(part_rows=20_000, batch_rows=10_000), progress=lambda rows: time.sleep(0.2))
"""


def _two_jobs(audit: Any) -> str:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    folder = _case_dir(audit)
    first = folder / "first.parquet"
    rgb = np.random.default_rng(1).integers(0, 256, (200_000, 3), dtype=np.uint8)
    pq.write_table(pa.table(dict(zip("rgb", rgb.T, strict=True))), first, row_group_size=20_000)
    (folder / "second.csv").write_text("r,g,b\n1,2,3\n")
    out = folder / "shared.csv"
    running = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_SLOW_JOB), first, out, audit.version],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    owner = folder / ".shared.csv.parts.lock.json"
    deadline = time.monotonic() + 120
    while not owner.exists() and running.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    code, output = audit.fontpipe(
        "score", folder / "second.csv", "--out", out, "--model", audit.version
    )
    running.wait(timeout=600)
    rows = pacsv.read_csv(out).num_rows if out.exists() else 0
    first_rc = f"first rc {running.returncode}, {rows:,} rows (all its own: {rows == 200_000})"
    return f"{verdict(code, output)}; {first_rc}; {_left(folder)}"


@contextlib.contextmanager
def _s3_server() -> Iterator[dict[str, str] | None]:
    """moto's S3 server on a free 127.0.0.1 port, and the environment that points AWS's standard
    variables at it; None where moto is not installed."""
    moto = Path(sys.executable).with_name("moto_server")
    if not moto.exists():
        yield None
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {
        "AWS_ACCESS_KEY_ID": "audit",
        "AWS_SECRET_ACCESS_KEY": "audit",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(endpoint, timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield env
    finally:
        server.terminate()
        server.wait(timeout=10)


def _on_a_store(audit: Any) -> str:
    """A truncated .gz on a store, scored into a prefix; then a prefix holding another job's
    uncommitted parts."""
    with _s3_server() as env:
        if env is None:
            return "skipped: moto is not installed"
        import boto3

        client = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], **_keys(env))
        client.create_bucket(Bucket=BUCKET)
        client.put_object(Bucket=BUCKET, Key="in/cut.csv.gz", Body=_truncated("gzip"))
        client.put_object(Bucket=BUCKET, Key="in/ok.csv", Body=b"color\n#ffffff\n")
        out = f"s3://{BUCKET}/scored/"
        code, output = audit.fontpipe(
            "score", f"s3://{BUCKET}/in/cut.csv.gz", "--out", out, "--model", audit.version, env=env
        )
        from fontpipe.scoring.remote import work_dir_for

        found = client.list_objects_v2(Bucket=BUCKET, Prefix="scored").get("Contents", [])
        truncated = f"{verdict(code, output)}; objects left: {len(found)}"
        truncated += f"; working directory left: {work_dir_for(out).exists()}"
        other = {"fingerprint": "f" * 20, "inputs": ["s3://audit/theirs.csv"], "pid": 4242}
        client.put_object(Bucket=BUCKET, Key="taken/_parts/job.json", Body=json.dumps(other))
        client.put_object(Bucket=BUCKET, Key="taken/_parts/part-00000.json", Body=b"{}")
        code, output = audit.fontpipe(
            "score",
            f"s3://{BUCKET}/in/ok.csv",
            "--out",
            f"s3://{BUCKET}/taken/",
            "--model",
            audit.version,
            env=env,
        )
        kept = len(client.list_objects_v2(Bucket=BUCKET, Prefix="taken/").get("Contents", []))
        taken = f"{verdict(code, output)}; its 2 objects kept: {kept == 2}"
        return f"truncated: {truncated} | taken: {taken}"


def _keys(env: dict[str, str]) -> dict[str, str]:
    return {
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
        "region_name": env["AWS_DEFAULT_REGION"],
    }


def cases(audit: Any) -> list[Case]:
    return [
        (
            "colour not UTF-8, quarantine",
            "rc 0; the row rejected byte for byte (no U+FFFD); nothing left",
            lambda: _not_utf8(audit, "--on-error", "quarantine"),
        ),
        (
            "colour not UTF-8, fail",
            "rc 2, one line: file, row 2, column, invalid UTF-8; nothing left",
            lambda: _not_utf8(audit),
        ),
        (
            "every row the wrong width, quarantine",
            "rc 0; both rows rejected as wrong width",
            lambda: _wrong_width(audit),
        ),
        (
            "truncated .csv.gz, quarantine",
            "rc 2, one line naming the file; nothing left",
            lambda: _truncated_local(audit, "gzip", ".gz"),
        ),
        (
            "truncated .csv.zst, quarantine",
            "rc 2, one line naming the file; nothing left",
            lambda: _truncated_local(audit, "zstd", ".zst"),
        ),
        (
            "row numbers of a .csv.gz",
            "rc 2, the bad second data row named row 2",
            lambda: _gz_row_numbers(audit),
        ),
        (
            "two jobs on one output",
            "second: rc 2, one line naming the running job; first: rc 0, only its rows; nothing left",
            lambda: _two_jobs(audit),
        ),
        (
            "staging directory is a symlink",
            "rc 2, one line; the link's target untouched",
            lambda: _symlinked_staging(audit),
        ),
        (
            "truncated .gz on a store; a prefix of another job",
            "rc 2, one line each; nothing left on the bucket or in /tmp; the other job's files kept",
            lambda: _on_a_store(audit),
        ),
    ]
