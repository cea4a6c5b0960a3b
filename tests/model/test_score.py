from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cli.app import app
from fontpipe.color.rules import text_contrast_ratio
from fontpipe.errors import FontpipeError
from fontpipe.registry.versions import load_cube_table
from fontpipe.scoring.job import score_files
from fontpipe.scoring.plan import ScoreConfig, parts_dir_for

runner = CliRunner()

MESSY_CSV = (
    "\ufeffname,color\r\n"  # UTF-8 BOM and CRLF line endings
    "white,#FFFFFF\r\n"
    '"quoted, with comma",  #000  \r\n'
    "bad hex,#12345\r\n"
    'css,"rgb(10, 20, 30)"\r\n'
    'two channels,"rgb(1, 2)"\r\n'
    "empty,\r\n"
    "too,many,columns\r\n"
    "short\r\n"
    "latin1,#abcdef\r\n"
    "steel,4682b4\r\n"  # hex without "#": six digits, not all of them decimal
)


def write_messy(path):
    data = MESSY_CSV.encode("utf-8").replace(b"latin1,#abcdef", b"latin\xe91,#abcdef")  # not UTF-8
    path.write_bytes(data)
    return path


def expected_p_black(version, rgb):
    table = load_cube_table(version / "cube.npy")
    rgb = np.asarray(rgb, dtype=np.int64)
    return table[(rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]].astype(np.float32)


def test_quarantine_accounts_for_every_row(tiny_version, tmp_path):
    source = write_messy(tmp_path / "messy.csv")
    out = tmp_path / "scored.csv"
    summary = score_files([str(source)], out, tiny_version, ScoreConfig(on_error="quarantine"))
    assert summary.read == 10
    assert summary.read == summary.scored + summary.rejected
    assert (summary.scored, summary.rejected) == (4, 6)
    scored = pacsv.read_csv(
        out,
        convert_options=pacsv.ConvertOptions(
            column_types={"name": pa.string(), "color": pa.string()}
        ),
    )
    assert scored.column("name").to_pylist() == [
        "white",
        "quoted, with comma",
        "css",
        "steel",
    ]  # input order
    assert scored.column("color").to_pylist() == [
        "#FFFFFF",
        "  #000  ",
        "rgb(10, 20, 30)",
        "4682b4",
    ]  # unchanged
    assert scored.column("text_color").to_pylist()[:2] == ["black", "white"]
    rejects = pacsv.read_csv(
        summary.rejects,
        convert_options=pacsv.ConvertOptions(
            strings_can_be_null=False, column_types={"row": pa.int64()}
        ),
    )
    reasons = dict(
        zip(rejects.column("row").to_pylist(), rejects.column("reason").to_pylist(), strict=True)
    )
    assert set(reasons) == {3, 5, 6, 7, 8, 9}
    assert "invalid hex" in reasons[3]
    assert "invalid rgb() colour" in reasons[5]
    assert reasons[6] == "empty cell"
    assert "wrong column count" in reasons[7] and "wrong column count" in reasons[8]
    assert reasons[9] == "invalid UTF-8"
    assert set(rejects.column("source_file").to_pylist()) == {str(source)}
    assert not parts_dir_for(out).exists()


def test_fail_mode_names_file_row_column_and_value_and_writes_nothing(tiny_version, tmp_path):
    source = write_messy(tmp_path / "messy.csv")
    out = tmp_path / "scored.parquet"
    with pytest.raises(FontpipeError) as error:
        score_files([str(source)], out, tiny_version, ScoreConfig())
    message = str(error.value)
    assert (
        str(source) in message
        and "row 3" in message
        and "'color'" in message
        and "'#12345'" in message
    )
    assert not out.exists() and not parts_dir_for(out).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["messy.csv"]


def test_scores_match_the_cube_table_and_wcag(tiny_version, tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (5_000, 3), dtype=np.uint8)
    source = tmp_path / "palette.parquet"
    pq.write_table(
        pa.table({"id": np.arange(5_000), "Red": rgb[:, 0], "Green": rgb[:, 1], "Blue": rgb[:, 2]}),
        source,
    )
    out = tmp_path / "scored.parquet"
    summary = score_files([str(source)], out, tiny_version, ScoreConfig())
    table = pq.read_table(out)
    assert table.column("id").to_pylist() == list(range(5_000))
    p_black = table.column("p_black").to_numpy()
    np.testing.assert_array_equal(p_black, expected_p_black(tiny_version, rgb))
    black = table.column("text_color").to_pylist()
    assert black == ["black" if p > 0.5 else "white" for p in p_black]
    np.testing.assert_allclose(
        table.column("contrast_ratio").to_numpy(),
        text_contrast_ratio(rgb, p_black > 0.5),
        rtol=1e-6,
    )
    assert table.column("wcag_aa").to_pylist() == list(
        table.column("contrast_ratio").to_numpy() >= 4.5
    )
    assert set(table.column("model_version").to_pylist()) == {tiny_version.name}
    assert table.schema.field("p_black").type == pa.float32()
    assert summary.black_share == pytest.approx(np.mean(p_black > 0.5))


def test_float_channels_need_a_scale_and_go_through_the_model(tiny_version, tmp_path):
    source = tmp_path / "floats.csv"
    source.write_text("r,g,b\n1.0,1.0,1.0\n0.0,0.0,0.0\n0.5,0.51,0.5\n")
    with pytest.raises(FontpipeError, match="--scale"):
        score_files([str(source)], tmp_path / "o.csv", tiny_version, ScoreConfig())
    summary = score_files([str(source)], tmp_path / "o.csv", tiny_version, ScoreConfig(scale="1"))
    scored = pacsv.read_csv(tmp_path / "o.csv")
    assert summary.scored == 3
    assert scored.column("text_color").to_pylist()[:2] == ["black", "white"]


def test_directories_globs_and_parquet_to_csv_keep_order(tiny_version, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        pq.write_table(
            pa.table(
                {
                    "r": pa.array([i, 255, 0], pa.uint8()),
                    "g": pa.array([0, 255, 0], pa.uint8()),
                    "b": pa.array([0, 255, 0], pa.uint8()),
                }
            ),
            folder / f"p{i}.parquet",
        )
    by_dir = score_files([str(folder)], tmp_path / "dir.csv", tiny_version, ScoreConfig())
    by_glob = score_files(
        [str(folder / "p*.parquet")], tmp_path / "glob.csv", tiny_version, ScoreConfig()
    )
    assert by_dir.scored == by_glob.scored == 9
    first = pacsv.read_csv(tmp_path / "dir.csv")
    assert first.column("r").to_pylist() == [0, 255, 0, 1, 255, 0, 2, 255, 0]
    assert (tmp_path / "dir.csv").read_bytes() == (tmp_path / "glob.csv").read_bytes()


def test_csv_split_into_byte_ranges_respects_quoted_newlines(tiny_version, tmp_path):
    lines = ["name,color"] + [
        f'"row {i}\nsecond line",#{i:06x}' if i % 7 == 0 else f"row {i},#{i:06x}"
        for i in range(3_000)
    ]
    source = tmp_path / "multi.csv"
    source.write_text("\n".join(lines) + "\n")
    whole = score_files([str(source)], tmp_path / "whole.csv", tiny_version, ScoreConfig())
    split = score_files(
        [str(source)], tmp_path / "split.csv", tiny_version, ScoreConfig(csv_part_bytes=4_000)
    )
    assert split.parts > 5 and whole.parts == 1
    assert split.scored == whole.scored == 3_000
    assert (tmp_path / "split.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()


@pytest.mark.parametrize(
    "args, message",
    [
        (["{missing}"], "no such file"),
        (["{same}", "--out", "{same}"], "also an input"),
        (["{nocolour}"], "no colour column"),
        (["{unreadable}"], "unreadable"),
        (["{good}", "--on-error", "ignore"], "--on-error"),
        (["{good}", "--model", "v-does-not-exist"], "not found"),
    ],
)
def test_cli_input_errors_exit_2(tiny_version, tmp_path, args, message):
    files = {
        "missing": tmp_path / "missing.csv",
        "same": tmp_path / "same.csv",
        "nocolour": tmp_path / "nocolour.csv",
        "unreadable": tmp_path / "broken.parquet",
        "good": tmp_path / "good.csv",
    }
    files["same"].write_text("color\n#fff\n")
    files["nocolour"].write_text("name,size\na,1\n")
    files["unreadable"].write_bytes(b"PAR1 this is not parquet")
    files["good"].write_text("color\n#fff\n")
    argv = [a.format(**files) for a in args]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "out.csv")]
    if "--model" not in argv:
        argv += ["--model", str(tiny_version)]
    result = runner.invoke(app, ["score", *argv])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "out.csv").exists()


def test_cli_score_summary(tiny_version, tmp_path):
    source = tmp_path / "p.csv"
    source.write_text("color\n#ffffff\n#000000\n")
    result = runner.invoke(
        app,
        ["score", str(source), "--out", str(tmp_path / "o.parquet"), "--model", str(tiny_version)],
    )
    assert result.exit_code == 0, result.output
    assert "rows read" in result.output and "rows/s" in result.output and "WCAG AA" in result.output


def test_predict_arguments_and_stdin(tiny_version):
    result = runner.invoke(
        app, ["predict", "--model", str(tiny_version), "#ffffff", "0,0,0", "rgb(0, 0, 0)"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("black") >= 1 and result.output.count("white") >= 2
    assert "21.00:1" in result.output
    piped = runner.invoke(app, ["predict", "--model", str(tiny_version)], input="#fff\n#000\n")
    assert piped.exit_code == 0 and "#000" in piped.output
    bad = runner.invoke(app, ["predict", "--model", str(tiny_version), "#12"])
    assert bad.exit_code == 2 and "not a colour" in bad.output


KILLABLE = """
import sys, time
from pathlib import Path
from fontpipe.scoring.job import score_files
from fontpipe.scoring.plan import ScoreConfig
def slow(rows):
    time.sleep(0.15)  # keeps the job running long enough to be killed part-way
score_files([sys.argv[1]], Path(sys.argv[2]), Path(sys.argv[3]), ScoreConfig(part_rows=20_000, batch_rows=10_000), progress=slow)
"""


def test_killed_job_resumes_and_matches_an_uninterrupted_run(tiny_version, tmp_path):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (400_000, 3), dtype=np.uint8)
    source = tmp_path / "big.parquet"
    pq.write_table(
        pa.table({"id": np.arange(len(rgb)), "r": rgb[:, 0], "g": rgb[:, 1], "b": rgb[:, 2]}),
        source,
        row_group_size=20_000,
    )
    out = tmp_path / "out.parquet"
    script = tmp_path / "job.py"
    script.write_text(textwrap.dedent(KILLABLE))
    process = subprocess.Popen(
        [sys.executable, str(script), str(source), str(out), str(tiny_version)],
        start_new_session=True,
    )
    parts_dir = parts_dir_for(out)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(parts_dir.glob("part-*.json"))) < 3:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    done_before = len(list(parts_dir.glob("part-*.json")))
    assert 3 <= done_before < 20, "the job should have been killed part-way"
    assert not out.exists()

    config = ScoreConfig(part_rows=20_000, batch_rows=10_000)
    resumed = score_files([str(source)], out, tiny_version, config)
    assert resumed.parts_reused >= done_before and resumed.read == 400_000
    reference = score_files([str(source)], tmp_path / "reference.parquet", tiny_version, config)
    assert reference.parts_reused == 0
    assert pq.read_table(out).equals(pq.read_table(tmp_path / "reference.parquet"))
    assert not parts_dir.exists()
    # Nothing the killed run was staging survives the resumed one.
    assert [p.name for p in tmp_path.rglob("*") if ".tmp-" in p.name] == []


def test_channel_columns_nan_empty_and_out_of_range_are_quarantined(tiny_version, tmp_path):
    source = tmp_path / "channels.csv"
    source.write_text(
        "id,R,G,B\n1,255,255,255\n2,NaN,0,0\n3,0,,0\n4,0,0,256\n5,x,0,0\n6,0,0,0\n7,-1,0,0\n"
    )
    summary = score_files(
        [str(source)], tmp_path / "o.csv", tiny_version, ScoreConfig(on_error="quarantine")
    )
    assert (summary.read, summary.scored, summary.rejected) == (7, 2, 5)
    rejects = pacsv.read_csv(
        summary.rejects, convert_options=pacsv.ConvertOptions(strings_can_be_null=False)
    )
    reasons = dict(
        zip(rejects.column("id").to_pylist(), rejects.column("reason").to_pylist(), strict=True)
    )
    assert reasons == {
        2: "not a number",
        3: "empty cell",
        4: "channel out of range 0-255",
        5: "not a number",
        7: "channel out of range 0-255",
    }
    assert pacsv.read_csv(tmp_path / "o.csv").column("id").to_pylist() == [1, 6]
    parquet = tmp_path / "nan.parquet"
    pq.write_table(pa.table({"r": [0.0, float("nan")], "g": [0.0, 0.0], "b": [0.0, 0.0]}), parquet)
    with pytest.raises(FontpipeError, match=r"row 2, column 'r': NaN"):
        score_files([str(parquet)], tmp_path / "o2.csv", tiny_version, ScoreConfig())


@pytest.mark.slow
def test_fast_contrast_and_index_are_exact_over_the_whole_cube():
    from fontpipe.color.cube import cube_index, iter_cube_chunks
    from fontpipe.scoring.columns import OUTPUT_COLUMNS, score_columns

    for start, rgb in iter_cube_chunks():
        np.testing.assert_array_equal(cube_index(rgb), np.arange(start, start + len(rgb)))
        for black in (True, False):
            columns = dict(
                zip(
                    OUTPUT_COLUMNS,
                    score_columns(rgb, np.full(len(rgb), 0.9 if black else 0.1, np.float32), "v"),
                    strict=True,
                )
            )
            exact = text_contrast_ratio(rgb, np.full(len(rgb), black))
            other = text_contrast_ratio(rgb, np.full(len(rgb), not black))
            np.testing.assert_allclose(columns["contrast_ratio"].to_numpy(), exact, rtol=1e-6)
            on_black = columns["contrast_black" if black else "contrast_white"].to_numpy()
            np.testing.assert_array_equal(on_black, columns["contrast_ratio"].to_numpy())
            # Every verdict is exact WCAG for every colour, not float32's approximation, and the
            # stored number is never on the other side of a threshold from its verdict.
            aa = columns["wcag_aa"].to_numpy(zero_copy_only=False)
            np.testing.assert_array_equal(aa, exact >= 4.5)
            np.testing.assert_array_equal(columns["contrast_ratio"].to_numpy() >= 4.5, aa)
            np.testing.assert_array_equal(
                columns["wcag_aaa"].to_numpy(zero_copy_only=False), exact >= 7
            )
            np.testing.assert_array_equal(
                columns["other_passes_aa"].to_numpy(zero_copy_only=False),
                (exact < 4.5) & (other >= 4.5),
            )


def test_malformed_rows_keep_their_row_numbers_across_blocks(tiny_version, tmp_path, monkeypatch):
    import fontpipe.scoring.read

    monkeypatch.setattr(fontpipe.scoring.read, "CSV_BLOCK_BYTES", 4_096)  # many blocks in one part
    lines = ["name,color"]
    for i in range(1, 3_001):
        lines.append(f"row {i},#{i:06x},extra" if i % 500 == 0 else f"row {i},#{i:06x}")
    source = tmp_path / "blocks.csv"
    source.write_text("\n".join(lines) + "\n")
    summary = score_files(
        [str(source)],
        tmp_path / "o.csv",
        tiny_version,
        ScoreConfig(on_error="quarantine", csv_part_bytes=20_000),
    )
    assert (summary.read, summary.rejected) == (3_000, 6)
    rejects = pacsv.read_csv(
        summary.rejects, convert_options=pacsv.ConvertOptions(column_types={"row": pa.int64()})
    )
    assert rejects.column("row").to_pylist() == [500, 1000, 1500, 2000, 2500, 3000]
    assert all(
        v == f"row {r},#{r:06x},extra"
        for r, v in zip(
            rejects.column("row").to_pylist(), rejects.column("value").to_pylist(), strict=True
        )
    )
    with pytest.raises(FontpipeError, match="row 500:"):
        score_files(
            [str(source)], tmp_path / "o2.csv", tiny_version, ScoreConfig(csv_part_bytes=20_000)
        )


def test_every_row_carries_both_contrasts_and_the_verdicts_of_the_formulas(tiny_version, tmp_path):
    rgb = np.random.default_rng(7).integers(0, 256, (5_000, 3), dtype=np.uint8)
    source = tmp_path / "palette.parquet"
    pq.write_table(pa.table({"r": rgb[:, 0], "g": rgb[:, 1], "b": rgb[:, 2]}), source)
    summary = score_files([str(source)], tmp_path / "out.parquet", tiny_version, ScoreConfig())
    out = pq.read_table(tmp_path / "out.parquet")
    black = np.asarray(out.column("text_color").to_pylist()) == "black"
    on_black = text_contrast_ratio(rgb, np.ones(len(rgb), bool))
    on_white = text_contrast_ratio(rgb, np.zeros(len(rgb), bool))
    chosen = np.where(black, on_black, on_white)
    other = np.where(black, on_white, on_black)
    np.testing.assert_allclose(out.column("contrast_black").to_numpy(), on_black, rtol=1e-6)
    np.testing.assert_allclose(out.column("contrast_white").to_numpy(), on_white, rtol=1e-6)
    np.testing.assert_allclose(out.column("contrast_ratio").to_numpy(), chosen, rtol=1e-6)
    np.testing.assert_array_equal(
        out.column("wcag_aa").to_numpy(zero_copy_only=False), chosen >= 4.5
    )
    np.testing.assert_array_equal(
        out.column("wcag_aaa").to_numpy(zero_copy_only=False), chosen >= 7
    )
    warn = (chosen < 4.5) & (other >= 4.5)
    np.testing.assert_array_equal(
        out.column("other_passes_aa").to_numpy(zero_copy_only=False), warn
    )
    assert summary.other_passes_aa == int(warn.sum()) > 0  # the tiny model is a mean-rule one


def test_csv_contrasts_print_rounded_but_never_at_a_threshold_they_missed():
    from fontpipe.scoring.columns import contrast_csv_text

    values = np.array(
        [20.999998, 4.5, np.nextafter(np.float32(4.5), np.float32(0)), 4.49996, 6.99996, 1.23456],
        dtype=np.float32,
    )
    printed = [str(v) for v in contrast_csv_text(values).to_pylist()]
    assert printed == ["21.0000", "4.5000", "4.4999", "4.4999", "6.9999", "1.2346"]


def _hex_csv(path, rows, seed=3):
    rgb = np.random.default_rng(seed).integers(0, 256, (rows, 3), dtype=np.uint8)
    hexes = ["#{:02x}{:02x}{:02x}".format(*c) for c in rgb]
    pacsv.write_csv(pa.table({"id": np.arange(rows), "color": hexes}), path)


def test_csv_output_is_the_same_from_one_part_or_many_and_after_a_failed_assembly(
    tiny_version, tmp_path, monkeypatch
):
    """CSV parts are finished text and the first becomes the output's start; a failure after
    that gives the first part its file back, and a rerun reuses every part."""
    import fontpipe.scoring.assemble as assemble

    source = tmp_path / "palette.csv"
    _hex_csv(source, 60_000)
    one = score_files([str(source)], tmp_path / "one.csv", tiny_version, ScoreConfig())
    assert one.parts == 1
    small = ScoreConfig(csv_part_bytes=200_000, batch_rows=5_000)

    calls = {"n": 0}
    real_append = assemble.append_file

    def failing_append(source_file, target):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk went away")
        real_append(source_file, target)

    monkeypatch.setattr(assemble, "append_file", failing_append)
    out = tmp_path / "many.csv"
    with pytest.raises(RuntimeError):
        score_files([str(source)], out, tiny_version, small)
    assert not out.exists()
    monkeypatch.setattr(assemble, "append_file", real_append)
    resumed = score_files([str(source)], out, tiny_version, small)
    assert resumed.parts > 3 and resumed.parts_reused == resumed.parts
    assert out.read_bytes() == (tmp_path / "one.csv").read_bytes()

    # A crash between moving the first part and finishing leaves its marker without its file:
    # that part is scored again, not trusted.
    again = tmp_path / "again.csv"
    with pytest.raises(RuntimeError):
        calls["n"] = 0
        monkeypatch.setattr(assemble, "append_file", failing_append)
        monkeypatch.setattr(assemble.OutputAssembler, "abandon", lambda self: None)
        score_files([str(source)], again, tiny_version, small)
    monkeypatch.undo()
    rerun = score_files([str(source)], again, tiny_version, small)
    assert rerun.parts_reused == rerun.parts - 1
    assert again.read_bytes() == (tmp_path / "one.csv").read_bytes()
