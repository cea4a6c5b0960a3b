"""Whole-process scoring against its peers, measured in the same run on the same files.

    python bench/score_peers.py [--rows 10000000] [--runs 5]

Inputs: the same 10 M colours as Parquet (`r,g,b` uint8 only, so no extra column pads a
reference) and as CSV (`r,g,b` integers). Each command runs as its own process, alternately
(A B C A B C ...); printed are the median wall time, peak RSS and fontpipe's speed relative to
each peer (peer time / fontpipe time: above 1 means fontpipe is faster):

- `fontpipe score FILE --out out.parquet` (the cube table already built, as after a retrain);
- stream-read and rewrite the same Parquet file with pyarrow (the I/O floor);
- a straightforward gather-from-table scorer: numpy gathers P(black) from the same cube table
  and computes the same output columns, written with pyarrow;
- `pyarrow.csv` streamed into Parquet (the CSV parsing floor);
- DuckDB computing the exact WCAG rule, both contrasts and AA in SQL, writing Parquet, from the
  Parquet and from the CSV file (what a data engineer who needs only a rule's answer writes).

Targets: CSV >= 0.6x the pyarrow.csv reference; >= 1.0x DuckDB on Parquet and >= 0.8x on CSV;
Parquet >= 1.2x the gather reference. Nothing is asserted.
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

DUCKDB = """
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    peers_table(args.rows, args.runs)


def peers_table(rows: int, runs: int) -> None:
    """Prepare the inputs, time every command `runs` times alternately, print the table."""
    with tempfile.TemporaryDirectory(prefix="fontpipe-peers-") as tmp:
        work = Path(tmp)
        model, parquet, csv = prepare(work, rows)
        out = str(work / "out.parquet")
        python = [sys.executable, "-c"]
        commands = {
            ("Parquet", "fontpipe"): [
                FONTPIPE,
                "score",
                str(parquet),
                "--out",
                out,
                "--model",
                str(model),
            ],
            ("Parquet", "pyarrow stream-read and rewrite"): [
                *python,
                PYARROW_REWRITE,
                str(parquet),
                out,
            ],
            ("Parquet", "gather-from-table scorer"): [
                *python,
                GATHER,
                str(parquet),
                out,
                str(model / "cube.npy"),
            ],
            ("Parquet", "DuckDB exact WCAG query"): [*python, DUCKDB, str(parquet), out],
            ("CSV", "fontpipe"): [FONTPIPE, "score", str(csv), "--out", out, "--model", str(model)],
            ("CSV", "pyarrow.csv streamed into Parquet"): [*python, PYARROW_CSV, str(csv), out],
            ("CSV", "DuckDB exact WCAG query"): [*python, DUCKDB, str(csv), out],
        }
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


if __name__ == "__main__":
    main()
