"""Bad inputs from the hostile audit: each ends in a one-line error or in rejects, never in a
traceback, a silent guess or a half-written output."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cli.app import app
from fontpipe.errors import FontpipeError
from fontpipe.scoring.job import score_files
from fontpipe.scoring.plan import ScoreConfig, parts_dir_for

runner = CliRunner()
QUARANTINE = ScoreConfig(on_error="quarantine")


def leftovers(folder):
    """Anything a failed job could have left: outputs, rejects, parts, staging."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(("out", ".out")))


NOISE = {
    "random": np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes(),
    # Every byte value, newlines and quotes included: some malformed lines are not UTF-8, which
    # Arrow cannot even hand to its bad-row handler.
    "every byte": bytes(range(256)) * 12,
}


def binary_csv(path, noise="random"):
    path.write_bytes(b"r,g,b\n1,2,3\n" + NOISE[noise] + b"\n4,5,6\n")
    return path


@pytest.mark.parametrize("noise", sorted(NOISE))
def test_binary_bytes_after_a_valid_header_are_quarantined(tiny_version, tmp_path, capfd, noise):
    source = binary_csv(tmp_path / "binary.csv", noise)
    summary = score_files([str(source)], tmp_path / "out.csv", tiny_version, QUARANTINE)
    assert summary.read == summary.scored + summary.rejected
    assert summary.scored == 2 and summary.rejected >= 1  # 1,2,3 and 4,5,6 survive
    rejects = pacsv.read_csv(summary.rejects).to_pylist()
    assert all(r["source_file"] == str(source) and r["reason"] for r in rejects)
    assert "Traceback" not in capfd.readouterr().err  # nothing "ignored" on stderr either


def test_binary_bytes_in_fail_mode_are_one_line(tiny_version, tmp_path):
    source = binary_csv(tmp_path / "binary.csv")
    result = runner.invoke(
        app,
        ["score", str(source), "--out", str(tmp_path / "out.csv"), "--model", str(tiny_version)],
    )
    assert result.exit_code == 2, result.output
    assert str(source) in result.output and "row 2" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 2
    assert leftovers(tmp_path) == []


def test_a_17_mb_line_is_rejected_not_a_crash(tiny_version, tmp_path):
    source = tmp_path / "long.csv"
    source.write_bytes(b"color\n#ffffff\n#" + b"a" * (17 << 20) + b"\n#000000\n")
    summary = score_files([str(source)], tmp_path / "out.csv", tiny_version, QUARANTINE)
    assert (summary.read, summary.scored, summary.rejected) == (3, 2, 1)
    (reject,) = pacsv.read_csv(summary.rejects).to_pylist()
    assert reject["row"] == 2 and "longer than" in reject["reason"]
    assert pacsv.read_csv(tmp_path / "out.csv").column("text_color").to_pylist() == [
        "black",
        "white",
    ]


def test_cr_only_line_endings_are_a_one_line_error(tiny_version, tmp_path):
    source = tmp_path / "cr.csv"
    source.write_bytes(b"r,g,b\r1,2,3\r4,5,6\r")
    with pytest.raises(FontpipeError, match=r"cr\.csv: lines end with a carriage return alone"):
        score_files([str(source)], tmp_path / "out.csv", tiny_version, QUARANTINE)
    assert leftovers(tmp_path) == []


def test_duplicate_column_names_are_a_one_line_error(tiny_version, tmp_path):
    source = tmp_path / "dup.csv"
    source.write_text("r,g,b,r\n1,2,3,4\n")
    with pytest.raises(FontpipeError, match=r"dup\.csv: column 'r' appears twice"):
        score_files([str(source)], tmp_path / "out.csv", tiny_version, QUARANTINE)
    assert leftovers(tmp_path) == []


def _parquet(path, dtype):
    pq.write_table(pa.table({c: pa.array([1, 2], dtype) for c in "rgb"}), path)


@pytest.mark.parametrize("second", ["csv", "int64"])
def test_inputs_of_different_types_are_refused_up_front_for_parquet_output(
    tiny_version, tmp_path, second
):
    folder = tmp_path / "in"
    folder.mkdir()
    _parquet(folder / "a.parquet", pa.uint8())
    if second == "csv":
        (folder / "b.csv").write_text("r,g,b\n1,2,3\n")
    else:
        _parquet(folder / "b.parquet", pa.int64())
    with pytest.raises(FontpipeError, match=r"column types .* differ .* Parquet output"):
        score_files([str(folder)], tmp_path / "out" / "x.parquet", tiny_version, QUARANTINE)
    assert not (tmp_path / "out").exists()  # the directory made for the output is gone too
    # CSV output has no schema to agree on: the same inputs score fine.
    summary = score_files([str(folder)], tmp_path / "x.csv", tiny_version, QUARANTINE)
    assert summary.scored == 3 if second == "csv" else summary.scored == 4


def test_txt_files_in_an_input_directory_are_not_inputs(tiny_version, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.csv").write_text("r,g,b\n1,2,3\n")
    (folder / "notes.txt").write_text("written by hand, not a palette\n")
    summary = score_files([str(folder)], tmp_path / "out.csv", tiny_version, ScoreConfig())
    assert (summary.read, summary.rejected) == (1, 0)


@pytest.mark.parametrize("text", ["r,g,b\n1.0,1.0,1.0\n0.0,0.5,1.0\n", "r,g,b\n1.0,1.0,1.0\n"])
def test_decimal_channels_within_0_to_1_need_a_scale(tiny_version, tmp_path, text):
    source = tmp_path / "unit.csv"
    source.write_text(text)
    with pytest.raises(FontpipeError, match=r"unit\.csv: .*--scale"):
        score_files([str(source)], tmp_path / "out.csv", tiny_version, ScoreConfig())
    white = score_files([str(source)], tmp_path / "o.csv", tiny_version, ScoreConfig(scale="1"))
    first = pacsv.read_csv(white.output).to_pylist()[0]
    assert first["text_color"] == "black" and first["contrast_ratio"] == pytest.approx(21.0)


@pytest.mark.parametrize(
    "header, row, message",
    [
        ("a,b", "1,2", "no colour column"),
        ("r,g,b", "0.5,3,4", "fractional values"),
    ],
)
def test_errors_about_the_data_name_the_file(tiny_version, tmp_path, header, row, message):
    source = tmp_path / "named.csv"
    source.write_text(f"{header}\n{row}\n")
    with pytest.raises(FontpipeError, match=rf"named\.csv: .*{message}"):
        score_files([str(source)], tmp_path / "out.csv", tiny_version, ScoreConfig())


def test_a_column_type_that_cannot_hold_a_channel_names_the_file(tiny_version, tmp_path):
    source = tmp_path / "typed.parquet"
    pq.write_table(pa.table({"r": [[1]], "g": [[2]], "b": [[3]]}), source)
    with pytest.raises(FontpipeError, match=r"typed\.parquet: column 'r' has type list"):
        score_files([str(source)], tmp_path / "out.csv", tiny_version, ScoreConfig())
    assert leftovers(tmp_path) == []


def test_an_unreachable_dask_scheduler_is_a_quick_clear_error(tiny_version, tmp_path):
    import socket

    with socket.socket() as probe:  # a port on this machine that nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    source = tmp_path / "a.csv"
    source.write_text("color\n#ffffff\n")
    started = time.monotonic()
    # A real process: the Prefect route configures logging on the process's own streams.
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("fontpipe")),
            "score",
            str(source),
            "--out",
            str(tmp_path / "out.csv"),
            "--model",
            str(tiny_version),
            "--dask-address",
            f"tcp://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert time.monotonic() - started < 20
    assert "no Dask scheduler answers" in output and "Traceback" not in output
    assert leftovers(tmp_path) == [] and not parts_dir_for(tmp_path / "out.csv").exists()


def test_stale_staging_of_the_same_job_is_removed_by_the_next_run(tiny_version, tmp_path):
    source = tmp_path / "a.csv"
    source.write_text("color\n#ffffff\n#000000\n")
    out = tmp_path / "out.parquet"
    stale = tmp_path / ".out.parquet.tmp-0123456789ab"  # as a kill -9 during assembly leaves
    stale.write_bytes(os.urandom(1024))
    other = tmp_path / ".other.parquet.tmp-0123456789ab"  # another job's: not ours to remove
    other.write_bytes(b"x")
    score_files([str(source)], out, tiny_version, ScoreConfig())
    assert out.exists() and not stale.exists() and other.exists()


def _raw_rejects(path):
    """The rejects file's lines as bytes, header dropped: what a reader of it gets."""
    return Path(path).read_bytes().splitlines()[1:]


def test_a_colour_that_is_not_utf8_is_rejected_with_its_own_bytes(tiny_version, tmp_path):
    source = tmp_path / "latin.csv"
    source.write_bytes(b"name,color\nwhite,#ffffff\nbad,#ff\xe9fff\nblack,#000000\n")
    summary = score_files([str(source)], tmp_path / "out.csv", tiny_version, QUARANTINE)
    assert (summary.read, summary.scored, summary.rejected) == (3, 2, 1)
    (line,) = _raw_rejects(summary.rejects)
    # The row as it was read, its bytes unchanged (never U+FFFD), in the value and its column.
    assert line == (
        b'"' + str(source).encode() + b'","2","color","#ff\xe9fff","invalid UTF-8",'
        b'"bad","#ff\xe9fff"'
    )
    with pytest.raises(FontpipeError, match=r"latin\.csv: row 2, column 'color': invalid UTF-8"):
        score_files([str(source)], tmp_path / "failed.csv", tiny_version, ScoreConfig())
    assert not (tmp_path / "failed.csv").exists()
    assert not parts_dir_for(tmp_path / "failed.csv").exists()


def test_malformed_lines_are_rejected_with_their_own_bytes(tiny_version, tmp_path):
    source = binary_csv(tmp_path / "binary.csv", "every byte")
    summary = score_files([str(source)], tmp_path / "out.csv", tiny_version, QUARANTINE)
    rejected = b"\n".join(_raw_rejects(summary.rejects))
    assert b"\xef\xbf\xbd" not in rejected  # no byte replaced by U+FFFD
    assert bytes(range(0x80, 0x100)) in rejected


def test_a_csv_whose_every_row_has_the_wrong_width_is_all_rejected(tiny_version, tmp_path):
    source = tmp_path / "wide.csv"
    source.write_text("color,note\n#ffffff,a,b\n#000000,c,d\n")
    summary = score_files([str(source)], tmp_path / "out.csv", tiny_version, QUARANTINE)
    assert (summary.read, summary.scored, summary.rejected) == (2, 0, 2)
    rejects = pacsv.read_csv(summary.rejects).to_pylist()
    assert [(r["row"], r["reason"]) for r in rejects] == [
        (1, "wrong column count (expected 2, got 3)"),
        (2, "wrong column count (expected 2, got 3)"),
    ]
    assert (tmp_path / "out.csv").read_text().startswith("color,note,p_black")
    with pytest.raises(FontpipeError, match=r"wide\.csv: row 1: wrong column count"):
        score_files([str(source)], tmp_path / "failed.csv", tiny_version, ScoreConfig())


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_rows_of_a_compressed_csv_are_numbered_from_1(tiny_version, tmp_path, suffix):
    text = b"name,color\na,#ffffff\nb,#000000,x\nc,#zzz\nd,#123456\n"
    plain = tmp_path / "rows.csv"
    plain.write_bytes(text)
    packed = tmp_path / f"rows.csv{suffix}"
    with pa.CompressedOutputStream(str(packed), "gzip" if suffix == ".gz" else "zstd") as sink:
        sink.write(text)
    rows = {}
    for source in (plain, packed):
        summary = score_files(
            [str(source)], tmp_path / f"{source.name}.out.csv", tiny_version, QUARANTINE
        )
        rows[source] = [
            (r["row"], r["reason"][:12]) for r in pacsv.read_csv(summary.rejects).to_pylist()
        ]
    assert rows[packed] == rows[plain] == [(2, "wrong column"), (3, "invalid hex ")]
    with pytest.raises(FontpipeError, match=rf"rows\.csv\{suffix}: row 2: wrong column count"):
        score_files([str(packed)], tmp_path / "failed.csv", tiny_version, ScoreConfig())


@pytest.mark.parametrize("codec", ["gzip", "zstd"])
@pytest.mark.parametrize("on_error", ["fail", "quarantine"])
def test_a_truncated_compressed_csv_is_a_one_line_error_leaving_nothing(
    tiny_version, tmp_path, codec, on_error
):
    suffix = {"gzip": ".gz", "zstd": ".zst"}[codec]
    whole = tmp_path / f"whole.csv{suffix}"
    # More than the first megabyte that the header check reads, so scoring meets the cut.
    with pa.CompressedOutputStream(str(whole), codec) as sink:
        colours = np.random.default_rng(0).integers(0, 1 << 24, 400_000)
        sink.write(b"color\n" + b"".join(b"#%06x\n" % c for c in colours))
    source = tmp_path / f"cut.csv{suffix}"
    source.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    whole.unlink()
    result = runner.invoke(
        app,
        [
            "score",
            str(source),
            "--out",
            str(tmp_path / "out.csv"),
            "--model",
            str(tiny_version),
            "--on-error",
            on_error,
        ],
    )
    assert result.exit_code == 2, result.output
    assert f"cut.csv{suffix}: the compressed file is cut short or damaged" in result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [source.name]
