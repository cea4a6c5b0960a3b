"""Locations: local paths, file:// URLs, and any fsspec protocol (memory:// here) listed,
globbed and read through one set of calls."""

from __future__ import annotations

from pathlib import Path

import fsspec
import pytest

from fontpipe import storage
from fontpipe.errors import FontpipeError


@pytest.fixture
def memory_store():
    fs = fsspec.filesystem("memory")
    for key in ("a/x.csv", "a/y.parquet", "a/d=1/z.csv", "a/d=2/z.csv", "a/notes.txt"):
        fs.pipe(f"/glob-test/{key}", key.encode())
    yield "memory://glob-test"
    fs.rm("/glob-test", recursive=True)


def test_urls_and_local_paths_are_told_apart():
    assert storage.is_url("s3://bucket/key") and storage.is_url("memory://x")
    assert not storage.is_url("C://data") and not storage.is_url("data/x.csv")
    assert storage.local_path("file:///tmp/x.csv") == Path("/tmp/x.csv")
    assert storage.local_path("s3://bucket/x.csv") is None
    assert storage.name_of("s3://bucket/dir/x.csv.gz").suffixes == [".csv", ".gz"]
    assert storage.join("s3://b/out/?region=eu", "part-1.parquet") == (
        "s3://b/out/part-1.parquet?region=eu"
    )


def test_prefix_listing_and_globs_on_a_store(memory_store):
    base = memory_store
    assert storage.list_files(f"{base}/a/d=1") == [f"{base}/a/d=1/z.csv"]
    assert storage.glob(f"{base}/a/*.csv") == [f"{base}/a/x.csv"]
    assert storage.glob(f"{base}/a/d=*/z.csv") == [f"{base}/a/d=1/z.csv", f"{base}/a/d=2/z.csv"]
    assert storage.glob(f"{base}/a/**/*.csv") == [
        f"{base}/a/d=1/z.csv",
        f"{base}/a/d=2/z.csv",
        f"{base}/a/x.csv",
    ]
    assert storage.glob(f"{base}/a/d=[!1]/*.csv") == [f"{base}/a/d=2/z.csv"]
    assert storage.read_bytes(f"{base}/a/x.csv") == b"a/x.csv"
    assert storage.is_file(f"{base}/a/x.csv") and not storage.is_file(f"{base}/a")


def test_an_unknown_protocol_is_one_line():
    with pytest.raises(FontpipeError, match=r"nosuch://x: no filesystem for this URL"):
        storage.resolve("nosuch://x")


def test_scoring_reads_and_writes_through_fsspec(tiny_version, tmp_path):
    from fontpipe.scoring.job import score_files
    from fontpipe.scoring.plan import ScoreConfig

    fs = fsspec.filesystem("memory")
    fs.pipe("/score-test/in/a.csv", b"hex\n#ffffff\n#000000\n")
    fs.pipe("/score-test/in/b.csv", b"hex\n#777777\n")
    try:
        summary = score_files(
            ["memory://score-test/in/"], "memory://score-test/out/", tiny_version, ScoreConfig()
        )
        local = score_files(
            ["memory://score-test/in/*.csv"], tmp_path / "local.csv", tiny_version, ScoreConfig()
        )
        assert summary.scored == local.scored == 3
        names = sorted(p.rsplit("/", 1)[1] for p in fs.find("/score-test/out"))
        assert names == ["_SUCCESS", "_manifest.json", "part-00000.parquet", "part-00001.parquet"]
    finally:
        fs.rm("/score-test", recursive=True)
