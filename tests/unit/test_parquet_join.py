"""Joining Parquet files by copying their bytes under one footer: the footer codec round-trips
pyarrow's own footers byte for byte, the joined file reads back equal to the tables it was made
of (in pyarrow, row group by row group, and in DuckDB), and anything unexpected is refused."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fontpipe.scoring.parquet_join import (
    JoinedParquetFile,
    ParquetJoinError,
    decode_footer,
    encode_footer,
    read_footer,
)


def _table(seed: int, rows: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    text = np.where(rng.random(rows) > 0.5, "black", "white")
    return pa.table(
        {
            "id": np.arange(seed * 10_000, seed * 10_000 + rows),
            "r": rng.integers(0, 256, rows, dtype=np.uint8),
            "p": rng.random(rows).astype(np.float32),
            "ok": rng.random(rows) > 0.3,
            "text": pa.array(text).dictionary_encode(),
            "note": pa.array(
                [None if i % 7 == 0 else f"n{i}" for i in range(rows)], type=pa.string()
            ),
        }
    )


def _write(path, table, **options) -> None:
    with pq.ParquetWriter(path, table.schema, **options) as writer:
        for batch in table.to_batches(max_chunksize=3_000):
            writer.write_batch(batch)


@pytest.mark.parametrize(
    "options",
    [{}, {"use_dictionary": ["r", "text"], "compression": "zstd"}, {"write_page_index": True}],
)
def test_footers_round_trip_byte_for_byte(tmp_path, options):
    path = tmp_path / "one.parquet"
    _write(path, _table(1, 10_000), **options)
    fd = os.open(path, os.O_RDONLY)
    try:
        data_end, footer = read_footer(fd)
        raw = os.pread(fd, os.fstat(fd).st_size - 8 - data_end, data_end)
    finally:
        os.close(fd)
    assert encode_footer(footer) == raw
    assert encode_footer(decode_footer(raw)) == raw


@pytest.mark.parametrize("options", [{}, {"write_page_index": True, "compression": "zstd"}])
def test_joined_files_read_back_as_the_concatenation(tmp_path, options):
    tables = [_table(i, rows) for i, rows in enumerate((10_000, 1, 7_500))]
    joined = JoinedParquetFile(tmp_path / "joined.parquet")
    for i, table in enumerate(tables):
        _write(tmp_path / f"piece-{i}.parquet", table, **options)
        joined.append(tmp_path / f"piece-{i}.parquet")
    joined.finish()
    expected = pa.concat_tables(tables)
    result = pq.ParquetFile(tmp_path / "joined.parquet")
    assert result.metadata.num_rows == expected.num_rows
    assert result.read().equals(expected)
    assert result.schema_arrow.field("text").type == pa.dictionary(pa.int32(), pa.string())
    # Every row group on its own, where its shifted offsets say it is.
    groups = [result.read_row_group(i) for i in range(result.num_row_groups)]
    assert pa.concat_tables(groups).equals(expected)
    import duckdb

    (row,) = (
        duckdb.connect()
        .execute(
            f"select count(*), sum(id), sum(r), count(note) from '{tmp_path / 'joined.parquet'}'"
        )
        .fetchall()
    )
    assert row == (
        expected.num_rows,
        int(np.sum(expected["id"].to_numpy())),
        int(np.sum(expected["r"].to_numpy().astype(np.int64))),
        expected.num_rows - expected["note"].null_count,
    )


def test_files_that_cannot_be_joined_are_refused(tmp_path):
    _write(tmp_path / "a.parquet", _table(1, 100))
    _write(tmp_path / "b.parquet", _table(2, 100).drop_columns(["note"]))
    (tmp_path / "c.parquet").write_bytes(b"PAR1 not really parquet")
    joined = JoinedParquetFile(tmp_path / "joined.parquet")
    joined.append(tmp_path / "a.parquet")
    with pytest.raises(ParquetJoinError, match="schemas differ"):
        joined.append(tmp_path / "b.parquet")
    with pytest.raises(ParquetJoinError):
        joined.append(tmp_path / "c.parquet")
    joined.close()


def test_the_assembler_re_encodes_when_parts_cannot_be_joined(tiny_version, tmp_path, monkeypatch):
    """A part the joiner refuses (never expected of the job's own parts) still gives the same
    output, by decoding and encoding the parts instead."""
    from fontpipe.scoring import parquet_join
    from fontpipe.scoring.job import score_files
    from fontpipe.scoring.plan import ScoreConfig

    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (60_000, 3), dtype=np.uint8)
    source = tmp_path / "in.parquet"
    pq.write_table(
        pa.table({"r": rgb[:, 0], "g": rgb[:, 1], "b": rgb[:, 2]}), source, row_group_size=10_000
    )
    config = ScoreConfig(part_rows=10_000, batch_rows=5_000)
    joined = score_files([str(source)], tmp_path / "joined.parquet", tiny_version, config)
    assert joined.parts == 6
    real_append = parquet_join.JoinedParquetFile.append
    calls = {"n": 0}

    def refuse_the_third(self, piece):
        calls["n"] += 1
        if calls["n"] == 3:
            raise ParquetJoinError("refused for the test")
        real_append(self, piece)

    monkeypatch.setattr(parquet_join.JoinedParquetFile, "append", refuse_the_third)
    score_files([str(source)], tmp_path / "reencoded.parquet", tiny_version, config)
    assert calls["n"] == 3
    expected = pq.read_table(tmp_path / "joined.parquet")
    assert pq.read_table(tmp_path / "reencoded.parquet").equals(expected)
    assert expected.num_rows == 60_000
