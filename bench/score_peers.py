"""Whole-process scoring against its peers, measured in the same run on the same files.

    python bench/score_peers.py [--rows 5000000 10000000] [--runs 5] [--peers duckdb|all]

Inputs: the same random colours as Parquet (`r,g,b` uint8 only, so no extra column pads a
reference) and as CSV (`r,g,b` integers), at each size given. Each command runs as its own
process, alternately (A B C A B C ...); printed are the median wall time, peak RSS and fontpipe's
speed relative to each peer (peer time / fontpipe time: above 1 means fontpipe is faster):

- `fontpipe score FILE --out out.parquet` with the retrain default's wcag model (its cube table
  already built, as after a retrain): every output column, 19 with r,g,b;
- DuckDB computing the exact WCAG rule in SQL and writing the same 19 columns with the same
  types (both contrasts, the chosen one, AA, AAA, 3:1, "the other colour passes AA", APCA Lc of
  black and white text and its bands): the goal is fontpipe >= 1.1x this, at 5 M and 10 M rows;
- the same DuckDB query writing only 8 columns (r,g,b, text colour, both contrasts, the chosen
  one, AA, AAA), what a data engineer who needs only the WCAG answer writes: fewer columns, so
  not the same job, shown for what it costs;
- with `--peers all`: stream-read and rewrite the Parquet file with pyarrow (the I/O floor), a
  straightforward gather-from-table scorer in numpy, `pyarrow.csv` streamed into Parquet (the
  CSV parsing floor).

After the table, how fontpipe's output and DuckDB's same-columns output agree (text colour,
verdicts, largest differences of the contrasts and Lc), so that both did the same job.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cube_model, print_table

FONTPIPE = str(Path(sys.executable).with_name("fontpipe"))

PYARROW_REWRITE = """
import sys, pyarrow.parquet as pq
source = pq.ParquetFile(sys.argv[1]); writer = None
for batch in source.iter_batches(1 << 20):
    writer = writer or pq.ParquetWriter(sys.argv[2], batch.schema)
    writer.write_batch(batch)
writer.close()
"""

PYARROW_CSV = """
import sys, pyarrow.csv as pacsv, pyarrow.parquet as pq
reader = pacsv.open_csv(sys.argv[1]); writer = None
for batch in reader:
    writer = writer or pq.ParquetWriter(sys.argv[2], batch.schema)
    writer.write_batch(batch)
writer.close()
"""

GATHER = """
import sys, numpy as np, pyarrow as pa, pyarrow.parquet as pq
table = np.load(sys.argv[3], mmap_mode="r")
levels = np.arange(256) / 255.0
linear = np.where(levels <= 0.04045, levels / 12.92, ((levels + 0.055) / 1.055) ** 2.4)
weights = [w * linear for w in (0.2126, 0.7152, 0.0722)]
writer = None
for batch in pq.ParquetFile(sys.argv[1]).iter_batches(1 << 20):
    r, g, b = (batch.column(c).to_numpy().astype(np.int64) for c in "rgb")
    p = table[(r << 16) | (g << 8) | b].astype(np.float32)
    black = p > 0.5
    lum = weights[0][r] + weights[1][g] + weights[2][b]
    on_black, on_white = (lum + 0.05) / 0.05, 1.05 / (lum + 0.05)
    chosen = np.where(black, on_black, on_white)
    other = np.where(black, on_white, on_black)
    out = pa.table({
        "r": batch.column("r"), "g": batch.column("g"), "b": batch.column("b"),
        "p_black": p, "text_color": np.where(black, "black", "white"),
        "contrast_black": on_black.astype(np.float32), "contrast_white": on_white.astype(np.float32),
        "contrast_ratio": chosen.astype(np.float32), "wcag_aa": chosen >= 4.5,
        "wcag_aaa": chosen >= 7, "other_passes_aa": (chosen < 4.5) & (other >= 4.5),
    })
    writer = writer or pq.ParquetWriter(sys.argv[2], out.schema)
    writer.write_table(out)
writer.close()
"""

# The exact WCAG rule in SQL, writing the columns the comparison names: both contrasts,
# the chosen ratio, AA and AAA (what a data engineer who needs only a rule's answer writes).
DUCKDB_WCAG = """
import sys, duckdb
source, out = sys.argv[1], sys.argv[2]
reader = "read_parquet" if source.endswith(".parquet") else "read_csv"
linear = lambda c: (f"CASE WHEN {c} / 255.0 <= 0.04045 THEN {c} / 255.0 / 12.92 "
                    f"ELSE pow(({c} / 255.0 + 0.055) / 1.055, 2.4) END")
duckdb.connect().execute(f'''
COPY (
  WITH lum AS (
    SELECT r, g, b,
      0.2126 * {linear("r")} + 0.7152 * {linear("g")} + 0.0722 * {linear("b")} AS l
    FROM {reader}('{source}')
  ), contrast AS (
    SELECT r, g, b, (l + 0.05) / 0.05 AS contrast_black, 1.05 / (l + 0.05) AS contrast_white
    FROM lum
  )
  SELECT r, g, b,
    CASE WHEN contrast_black > contrast_white THEN 'black' ELSE 'white' END AS text_color,
    contrast_black, contrast_white,
    greatest(contrast_black, contrast_white) AS contrast_ratio,
    greatest(contrast_black, contrast_white) >= 4.5 AS wcag_aa,
    greatest(contrast_black, contrast_white) >= 7 AS wcag_aaa
  FROM contrast
) TO '{out}' (FORMAT parquet)''')
"""

# The same rule writing every column `fontpipe score` writes, with its types: P(black) (0 or 1
# for an exact rule), the text colour, both contrasts and the chosen one, AA, AAA, 3:1 for large
# text and non-text, "fails AA where the other colour passes", APCA Lc of black and of white
# text (APCA-W3 0.0.98G-4g, as fontpipe.color.apca) and its three bands, and the model's name.
DUCKDB_SAME_COLUMNS = """
import sys, duckdb
source, out = sys.argv[1], sys.argv[2]
reader = "read_parquet" if source.endswith(".parquet") else "read_csv"
linear = lambda c: (f"CASE WHEN {c} / 255.0 <= 0.04045 THEN {c} / 255.0 / 12.92 "
                    f"ELSE pow(({c} / 255.0 + 0.055) / 1.055, 2.4) END")
clamp = lambda y: f"CASE WHEN {y} > 0.022 THEN {y} ELSE {y} + pow(0.022 - {y}, 1.414) END"
def lc(text, bg):
    return (f"CASE WHEN abs({bg} - {text}) < 0.0005 THEN 0.0 WHEN {bg} > {text} THEN "
            f"(CASE WHEN (pow({bg}, 0.56) - pow({text}, 0.57)) * 1.14 < 0.1 THEN 0.0 "
            f"ELSE (pow({bg}, 0.56) - pow({text}, 0.57)) * 1.14 - 0.027 END) * 100 ELSE "
            f"(CASE WHEN (pow({bg}, 0.65) - pow({text}, 0.62)) * 1.14 > -0.1 THEN 0.0 "
            f"ELSE (pow({bg}, 0.65) - pow({text}, 0.62)) * 1.14 + 0.027 END) * 100 END")
black_y, white_y = clamp("0.0"), "1.0000001"
duckdb.connect().execute(f'''
COPY (
  WITH lum AS (
    SELECT r, g, b,
      0.2126 * {linear("r")} + 0.7152 * {linear("g")} + 0.0722 * {linear("b")} AS l,
      0.2126729 * pow(r / 255.0, 2.4) + 0.7151522 * pow(g / 255.0, 2.4)
        + 0.0721750 * pow(b / 255.0, 2.4) AS y
    FROM {reader}('{source}')
  ), contrast AS (
    SELECT r, g, b, (l + 0.05) / 0.05 AS on_black, 1.05 / (l + 0.05) AS on_white,
      {clamp("y")} AS bg
    FROM lum
  ), chosen AS (
    SELECT *, on_black > on_white AS black, greatest(on_black, on_white) AS ratio,
      least(on_black, on_white) AS other,
      {lc(black_y, "bg")} AS lc_black, {lc(white_y, "bg")} AS lc_white
    FROM contrast
  )
  SELECT r, g, b,
    CAST(CASE WHEN black THEN 1 ELSE 0 END AS FLOAT) AS p_black,
    CASE WHEN black THEN 'black' ELSE 'white' END AS text_color,
    CAST(on_black AS FLOAT) AS contrast_black, CAST(on_white AS FLOAT) AS contrast_white,
    CAST(ratio AS FLOAT) AS contrast_ratio,
    ratio >= 4.5 AS wcag_aa, ratio >= 7 AS wcag_aaa, ratio >= 3 AS wcag_aa_large,
    ratio >= 3 AS wcag_non_text, ratio < 4.5 AND other >= 4.5 AS other_passes_aa,
    CAST(lc_black AS FLOAT) AS apca_lc_black, CAST(lc_white AS FLOAT) AS apca_lc_white,
    abs(CASE WHEN black THEN lc_black ELSE lc_white END) >= 75 AS apca_body,
    abs(CASE WHEN black THEN lc_black ELSE lc_white END) >= 60 AS apca_large,
    abs(CASE WHEN black THEN lc_black ELSE lc_white END) >= 45 AS apca_min,
    'exact-wcag' AS model_version
  FROM chosen
) TO '{out}' (FORMAT parquet)''')
"""


def run_once(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one whole process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        stderr = process.stderr.read().decode() if process.stderr else ""
        raise SystemExit(f"{' '.join(command[:3])} failed: {stderr[-800:]}")
    return seconds, usage.ru_maxrss / 1024


def prepare(work: Path, rows: int) -> tuple[Path, Path, Path]:
    """The model (its cube table built) and the same colours as Parquet and as CSV."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    model = cube_model(work)
    schema = pa.schema([(c, pa.uint8()) for c in "rgb"])
    rng = np.random.default_rng(0)
    with (
        pq.ParquetWriter(work / "rgb.parquet", schema) as parquet,
        pacsv.CSVWriter(work / "rgb.csv", schema) as csv,
    ):
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            rgb = rng.integers(0, 256, (n, 3), dtype=np.uint8)
            table = pa.table({c: rgb[:, i] for i, c in enumerate("rgb")}, schema=schema)
            parquet.write_table(table)
            csv.write_table(table)
    return model, work / "rgb.parquet", work / "rgb.csv"


def main() -> None:
    if sys.argv[1:2] == ["--prepare"]:
        print(prepare(Path(sys.argv[2]), int(sys.argv[3]))[0])
        return
    if sys.argv[1:2] == ["--agreement"]:
        print(agreement(Path(sys.argv[2])))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[5_000_000, 10_000_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--peers", choices=["duckdb", "all"], default="all", help="duckdb: only the DuckDB rows"
    )
    args = parser.parse_args()
    for rows in args.rows:
        peers_table(rows, args.runs, only_duckdb=args.peers == "duckdb")


def commands_for(
    work: Path, model: Path, parquet: Path, csv: Path, only_duckdb: bool
) -> dict[tuple[str, str], list[str]]:
    """Every command of the table, each writing its own output file (read by the check)."""
    python = [sys.executable, "-c"]
    commands: dict[tuple[str, str], list[str]] = {}
    for fmt, source in (("Parquet", parquet), ("CSV", csv)):

        def out(name: str, fmt: str = fmt) -> str:
            return str(work / f"{fmt}-{name}.parquet")

        commands[(fmt, "fontpipe")] = [
            FONTPIPE,
            "score",
            str(source),
            "--out",
            out("fontpipe"),
            "--model",
            str(model),
        ]
        commands[(fmt, DUCKDB_SAME)] = [*python, DUCKDB_SAME_COLUMNS, str(source), out("duckdb")]
        commands[(fmt, DUCKDB_FEWER)] = [*python, DUCKDB_WCAG, str(source), out("duckdb-wcag")]
        if only_duckdb:
            continue
        if fmt == "Parquet":
            commands[(fmt, "pyarrow stream-read and rewrite")] = [
                *python,
                PYARROW_REWRITE,
                str(source),
                out("rewrite"),
            ]
            commands[(fmt, "gather-from-table scorer")] = [
                *python,
                GATHER,
                str(source),
                out("gather"),
                str(model / "cube.npy"),
            ]
        else:
            commands[(fmt, "pyarrow.csv streamed into Parquet")] = [
                *python,
                PYARROW_CSV,
                str(source),
                out("csv"),
            ]
    return commands


DUCKDB_SAME = "DuckDB, exact WCAG rule, the same 19 columns"
DUCKDB_FEWER = "DuckDB, exact WCAG rule, 8 columns"


def agreement(work: Path) -> str:
    """How fontpipe's output (a wcag model exact on the cube) and DuckDB's same-columns output
    agree, so that the comparison is between two jobs that give the same answers."""
    import numpy as np
    import pyarrow.parquet as pq

    ours = pq.read_table(work / "Parquet-fontpipe.parquet")
    theirs = pq.read_table(work / "Parquet-duckdb.parquet")
    assert ours.column_names == theirs.column_names, (ours.column_names, theirs.column_names)
    same_text = np.mean(
        ours.column("text_color").to_pylist() == np.asarray(theirs.column("text_color").to_pylist())
    )
    gaps = {
        name: float(
            np.max(
                np.abs(
                    ours.column(name).to_numpy().astype(np.float64)
                    - theirs.column(name).to_numpy().astype(np.float64)
                )
            )
        )
        for name in ("contrast_ratio", "apca_lc_black", "apca_lc_white")
    }
    verdicts = {
        name: float(np.mean(ours.column(name).to_numpy() == theirs.column(name).to_numpy()))
        for name in ("wcag_aa", "wcag_aaa", "other_passes_aa", "apca_body", "apca_large")
    }
    return (
        f"same columns: {len(ours.column_names)}; text colour agrees on {same_text:.4%} of rows; "
        + ", ".join(f"{k} agrees {v:.4%}" for k, v in verdicts.items())
        + "; largest differences: "
        + ", ".join(f"{k} {v:.2g}" for k, v in gaps.items())
    )


def peers_table(rows: int, runs: int, only_duckdb: bool = False) -> None:
    """Prepare the inputs, time every command `runs` times alternately, print the table."""
    with tempfile.TemporaryDirectory(prefix="fontpipe-peers-") as tmp:
        work = Path(tmp)
        # In a child process: a command's peak RSS counts its parent's pages from before the exec,
        # and writing the inputs here would leave this process holding them.
        done = subprocess.run(
            [sys.executable, __file__, "--prepare", str(work), str(rows)],
            capture_output=True,
            text=True,
            check=True,
        )
        model = Path(done.stdout.split()[-1])
        parquet, csv = work / "rgb.parquet", work / "rgb.csv"
        commands = commands_for(work, model, parquet, csv, only_duckdb)
        times: dict[tuple[str, str], list[float]] = {key: [] for key in commands}
        rss: dict[tuple[str, str], float] = {}
        for _ in range(runs):
            for key, command in commands.items():
                seconds, peak = run_once(command)
                times[key].append(seconds)
                rss[key] = max(rss.get(key, 0.0), peak)
        medians = {key: statistics.median(values) for key, values in times.items()}
        table = []
        for (fmt, who), seconds in medians.items():
            ours = medians[(fmt, "fontpipe")]
            table.append(
                {
                    "input": f"{fmt}, {rows:,} rows",
                    "command": who,
                    "median wall s": seconds,
                    "rows/s": rows / seconds,
                    "peak RSS MB": rss[(fmt, who)],
                    "fontpipe speed vs this": None if who == "fontpipe" else seconds / ours,
                }
            )
        print_table(
            f"whole process, medians of {runs} alternating runs ({os.cpu_count()} cores)",
            table,
            [
                "input",
                "command",
                "median wall s",
                "rows/s",
                "peak RSS MB",
                "fontpipe speed vs this",
            ],
        )
        # In a child, as the inputs: reading both outputs would grow this process, and every
        # later command's peak RSS would start from it.
        subprocess.run([sys.executable, __file__, "--agreement", str(work)], check=True)


if __name__ == "__main__":
    main()
