"""`--out DIR/`: a directory dataset (a Parquet file per part, `_manifest.json`, `_SUCCESS`
written last) that pyarrow.dataset, Dask and DuckDB read as one table, equal to the one-file
output; nothing in place until it is complete, and a failed run resumes."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cli.app import app
from fontpipe.errors import FontpipeError
from fontpipe.scoring.job import score_files
from fontpipe.scoring.plan import ScoreConfig, parts_dir_for

SMALL_PARTS = ScoreConfig(part_rows=20_000, batch_rows=10_000)


@pytest.fixture(scope="module")
def palette(tmp_path_factory):
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (100_000, 3), dtype=np.uint8)
    path = tmp_path_factory.mktemp("in") / "palette.parquet"
    pq.write_table(
        pa.table({"id": np.arange(len(rgb)), "r": rgb[:, 0], "g": rgb[:, 1], "b": rgb[:, 2]}),
        path,
        row_group_size=20_000,
    )
    return path


def test_directory_dataset_equals_the_single_file_and_reads_everywhere(
    palette, tiny_version, tmp_path
):
    single = score_files([str(palette)], tmp_path / "one.parquet", tiny_version, SMALL_PARTS)
    summary = score_files([str(palette)], f"{tmp_path / 'scored'}/", tiny_version, SMALL_PARTS)
    out = tmp_path / "scored"
    assert summary.parts == single.parts == 5 and summary.scored == 100_000
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "_SUCCESS",
        "_manifest.json",
        *[f"part-{i:05d}.parquet" for i in range(5)],
    ]
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["rows"] == 100_000 and manifest["model_version"] == tiny_version.name
    assert [f["rows"] for f in manifest["files"]] == [20_000] * 5
    expected = pq.read_table(tmp_path / "one.parquet")
    assert pads.dataset(out).to_table().equals(expected)
    import duckdb

    (counted,) = (
        duckdb.connect()
        .execute(f"select count(*), sum(id) from read_parquet('{out}/*.parquet')")
        .fetchall()
    )
    assert counted == (100_000, int(np.arange(100_000).sum()))
    import dask.dataframe as dd

    frame = dd.read_parquet(str(out)).compute()
    assert len(frame) == 100_000 and list(frame["id"][:3]) == [0, 1, 2]
    assert not parts_dir_for(out).exists()


def test_nothing_is_in_place_until_complete_and_a_rerun_resumes(
    palette, tiny_version, tmp_path, monkeypatch
):
    import fontpipe.scoring.assemble as assemble

    calls = {"n": 0}
    real = assemble.OutputAssembler._append_dataset_file

    def failing(self, piece):
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("lost the disk")
        real(self, piece)

    monkeypatch.setattr(assemble.OutputAssembler, "_append_dataset_file", failing)
    out = tmp_path / "scored"
    with pytest.raises(RuntimeError):
        score_files([str(palette)], f"{out}/", tiny_version, SMALL_PARTS)
    assert not out.exists()  # no directory that looks like a result
    assert not list(tmp_path.glob(".scored.tmp-*"))
    monkeypatch.undo()
    resumed = score_files([str(palette)], f"{out}/", tiny_version, SMALL_PARTS)
    assert resumed.parts_reused == resumed.parts
    assert (out / "_SUCCESS").exists() and pads.dataset(out).count_rows() == 100_000


def test_a_non_empty_directory_is_refused_and_the_cli_takes_a_trailing_slash(
    palette, tiny_version, tmp_path
):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "something.txt").write_text("mine")
    with pytest.raises(FontpipeError, match="not empty"):
        score_files([str(palette)], f"{taken}/", tiny_version, SMALL_PARTS)
    assert (taken / "something.txt").read_text() == "mine"
    result = CliRunner().invoke(
        app, ["score", str(palette), "--out", f"{tmp_path / 'cli'}/", "--model", str(tiny_version)]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cli" / "_SUCCESS").exists()
    refused = CliRunner().invoke(
        app, ["score", str(palette), "--out", str(taken), "--model", str(tiny_version)]
    )
    assert refused.exit_code == 2 and "end it with /" in refused.output
