"""Palette files that used to end in a traceback or a silent wrong answer (issue 23), scored whole
with a tiny trained model: each gives rows scored and rejected with reasons, or one line of
error with nothing left behind."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from fontpipe.errors import FontpipeError
from fontpipe.scoring.job import score_files
from fontpipe.scoring.plan import ScoreConfig

QUARANTINE = ScoreConfig(on_error="quarantine")


def rejects_of(summary):
    table = pacsv.read_csv(
        summary.rejects,
        convert_options=pacsv.ConvertOptions(
            column_types={"row": pa.int64()}, strings_can_be_null=False
        ),
    )
    return dict(
        zip(table.column("row").to_pylist(), table.column("reason").to_pylist(), strict=True)
    )


def nothing_left(tmp_path, out):
    left = [p.name for p in tmp_path.rglob("*") if ".parts" in p.name or ".tmp-" in p.name]
    assert left == [] and not out.exists()


def test_a_header_that_fools_the_sniff_is_read_by_its_rows(tiny_version, tmp_path):
    source = tmp_path / "sniff.csv"
    source.write_text("name,color,note;a;b;c\nx,#ffffff,hi\ny,#000000,yo\n")
    summary = score_files([str(source)], tmp_path / "o.csv", tiny_version, QUARANTINE)
    assert (summary.read, summary.scored, summary.rejected) == (2, 2, 0)
    out = pacsv.read_csv(summary.output)
    assert out.column("name").to_pylist() == ["x", "y"]
    assert out.column("srgb_hex").to_pylist() == ["#ffffff", "#000000"]


def test_compressed_bytes_named_csv_are_named_for_what_they_are(tiny_version, tmp_path):
    source = tmp_path / "palette.csv"
    source.write_bytes(gzip.compress(b"name,color\nx,#fff\r\ny,#000\r\n"))
    out = tmp_path / "o.csv"
    with pytest.raises(FontpipeError, match=r"gzip-compressed data.*name it palette\.csv\.gz"):
        score_files([str(source)], out, tiny_version, QUARANTINE)
    nothing_left(tmp_path, out)


@pytest.mark.parametrize("kind", [pa.int64(), pa.uint64()])
def test_parquet_integer_channels_beyond_floats_are_rejected_exactly(tiny_version, tmp_path, kind):
    huge = 2**53 + 1 if kind == pa.int64() else 2**64 - 1
    source = tmp_path / "big.parquet"
    channels = {c: pa.array([0, 0, 0], kind) for c in "gb"}
    pq.write_table(pa.table({"r": pa.array([255, huge, 7], kind), **channels}), source)
    summary = score_files([str(source)], tmp_path / "o.csv", tiny_version, QUARANTINE)
    assert (summary.read, summary.scored, summary.rejected) == (3, 2, 1)
    assert rejects_of(summary) == {2: "channel out of range 0-255"}
    value = pacsv.read_csv(
        summary.rejects, convert_options=pacsv.ConvertOptions(column_types={"value": pa.string()})
    ).column("value")
    assert value.to_pylist() == [str(huge)]  # as written, not its nearest float
    out = tmp_path / "fail.csv"
    with pytest.raises(FontpipeError, match=rf"row 2, column 'r'.*'{huge}'"):
        score_files([str(source)], out, tiny_version, ScoreConfig())
    nothing_left(tmp_path, out)


def test_boolean_parquet_channels_are_refused(tiny_version, tmp_path):
    source = tmp_path / "bools.parquet"
    pq.write_table(pa.table({"r": [True, False], "g": [True, True], "b": [False, False]}), source)
    out = tmp_path / "o.csv"
    with pytest.raises(FontpipeError, match="'r' holds booleans"):
        score_files([str(source)], out, tiny_version, QUARANTINE)
    nothing_left(tmp_path, out)


def test_tokens_nested_3000_deep_are_one_line(tiny_version, tmp_path):
    source = tmp_path / "deep.json"
    source.write_text('{"g":' * 3000 + '{"$type": "color", "$value": "#fff"}' + "}" * 3000)
    out = tmp_path / "o.csv"
    with pytest.raises(FontpipeError, match="nested too deeply") as error:
        score_files([str(source)], out, tiny_version, QUARANTINE)
    assert "\n" not in str(error.value) and "deep.json" in str(error.value)
    nothing_left(tmp_path, out)


def test_an_exact_color_column_is_scored_not_a_hinted_one(tiny_version, tmp_path):
    source = tmp_path / "families.csv"
    source.write_text("color_family,subgroup,color\nred,a,#000000\nblue,b,#ffffff\n")
    summary = score_files([str(source)], tmp_path / "o.csv", tiny_version, QUARANTINE)
    assert pacsv.read_csv(summary.output).column("srgb_hex").to_pylist() == ["#000000", "#ffffff"]
    clash = tmp_path / "clash.csv"
    clash.write_text("r,g,b,R\n1,2,3,200\n")
    with pytest.raises(FontpipeError, match="'r', 'R' differ only in case"):
        score_files([str(clash)], tmp_path / "o2.csv", tiny_version, QUARANTINE)


def test_a_themed_stylesheet_scores_every_context_and_names_reject_lines(tiny_version, tmp_path):
    source = tmp_path / "theme.css"
    source.write_text(
        ":root {\n  --bg: #ffffff;\n  --z: 100;\n  --loop: var(--loop);\n}\n"
        ".dark { --bg: #000000; }\n"
        "@media (prefers-color-scheme: dark) { :root { --bg: light-dark(#111, #222); } }\n"
    )
    summary = score_files([str(source)], tmp_path / "o.csv", tiny_version, QUARANTINE)
    assert (summary.read, summary.scored, summary.rejected) == (5, 4, 1)
    out = pacsv.read_csv(summary.output)
    assert out.column("context").to_pylist() == [
        ":root",
        ".dark",
        "@media (prefers-color-scheme: dark) :root (light)",
        "@media (prefers-color-scheme: dark) :root (dark)",
    ]
    assert rejects_of(summary) == {2: "var() cycle: --loop -> --loop (line 4)"}


def test_a_numeric_design_token_is_rejected_not_scored(tiny_version, tmp_path):
    source = tmp_path / "tokens.json"
    source.write_text(json.dumps({"c": {"$type": "color", "z": {"$value": 123}}}))
    summary = score_files([str(source)], tmp_path / "o.csv", tiny_version, QUARANTINE)
    assert (summary.scored, summary.rejected) == (0, 1)
    assert rejects_of(summary) == {1: "a number, not a colour"}
