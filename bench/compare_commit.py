"""Whole-process figures of this checkout beside an earlier commit, measured in the same run.

    python bench/compare_commit.py [--baseline REF] [--runs 7] [--rows 10000000]

The baseline is checked out into a temporary git worktree and run from there with the same
interpreter and packages. Both run the same commands, alternately (A B A B ...), on the same
model version and the same input files:

- `fontpipe predict "#336699"` (start-up is most of it),
- `fontpipe --help`,
- `fontpipe score` of a Parquet file (r,g,b uint8) and of a CSV file (hex column).

Printed: the median wall time and peak RSS of each, rows/s for scoring, and the ratio. The default
baseline is the last commit before the library was split into layers (cli -> flows -> fontpipe).
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

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_table

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BASELINE = "4c8dc8e"  # before the layered architecture


def entry(source: Path) -> str:
    """How a checkout starts its command line: the entry point moved from fontpipe.cli to cli.app."""
    module = "cli.app" if (source / "cli" / "app.py").exists() else "fontpipe.cli"
    return f"import sys\nfrom {module} import main\nsys.argv[0] = 'fontpipe'\nmain()\n"


def run_once(source: Path, args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one whole process."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", entry(source), *args],
        cwd=source,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    stderr = process.stderr.read().decode() if process.stderr else ""
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{source.name}: fontpipe {' '.join(args)} failed: {stderr[-500:]}")
    return seconds, usage.ru_maxrss / 1024


def make_model(work: Path) -> Path:
    from fontpipe.data.datasets import write_dataset
    from fontpipe.data.generation import GenerateConfig
    from fontpipe.registry.versions import ensure_cube_table
    from fontpipe.training.config import TrainConfig
    from fontpipe.training.train import train_version

    dataset, _ = write_dataset(GenerateConfig(rows=50_000, sampling="boundary"), work / "ds")
    version = train_version(dataset, TrainConfig(epochs=1), work / "models")
    ensure_cube_table(version)
    return version.path


def make_inputs(work: Path, rows: int) -> tuple[Path, Path]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    parquet, csv = work / "palette.parquet", work / "palette.csv"
    schema = pa.schema([("r", pa.uint8()), ("g", pa.uint8()), ("b", pa.uint8())])
    with (
        pq.ParquetWriter(parquet, schema) as pw,
        pacsv.CSVWriter(csv, pa.schema([("color", pa.string())])) as cw,
    ):
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            rgb = rng.integers(0, 256, (n, 3), dtype=np.uint8)
            pw.write_table(pa.table({"r": rgb[:, 0], "g": rgb[:, 1], "b": rgb[:, 2]}))
            value = (rgb[:, 0].astype(np.int64) << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
            cw.write_table(pa.table({"color": np.char.add("#", np.char.mod("%06x", value))}))
    return parquet, csv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--prepare", help=argparse.SUPPRESS)  # internal: make model and inputs here
    args = parser.parse_args()
    if args.prepare:
        work = Path(args.prepare)
        print(make_model(work))
        make_inputs(work, args.rows)
        return
    with tempfile.TemporaryDirectory(prefix="fontpipe-bench-") as tmp:
        work = Path(tmp)
        baseline = work / "baseline"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(baseline), args.baseline],
            check=True,
            capture_output=True,
        )
        try:
            # A child makes the model and the inputs, so this process never loads TensorFlow: on
            # Linux a child's peak RSS starts at its parent's, and ours must stay small.
            prepared = subprocess.run(
                [sys.executable, __file__, "--prepare", str(work), "--rows", str(args.rows)],
                check=True,
                capture_output=True,
                text=True,
            )
            model = Path(prepared.stdout.strip().splitlines()[-1])
            parquet, csv = work / "palette.parquet", work / "palette.csv"
            cases = {
                "predict #336699": (["predict", "#336699", "--model", str(model)], None),
                "--help": (["--help"], None),
                "score Parquet": (
                    [
                        "score",
                        str(parquet),
                        "--out",
                        str(work / "o.parquet"),
                        "--model",
                        str(model),
                    ],
                    args.rows,
                ),
                "score CSV (hex)": (
                    ["score", str(csv), "--out", str(work / "o.csv"), "--model", str(model)],
                    args.rows,
                ),
            }
            rows = []
            for name, (command, n_rows) in cases.items():
                runs = args.runs if n_rows is None else max(3, args.runs // 2)
                timings: dict[str, list[tuple[float, float]]] = {"this": [], "baseline": []}
                run_once(ROOT, command)  # warm the page cache and the .pyc files
                run_once(baseline, command)
                for _ in range(runs):
                    timings["this"].append(run_once(ROOT, command))
                    timings["baseline"].append(run_once(baseline, command))
                medians = {
                    side: statistics.median(w for w, _ in values)
                    for side, values in timings.items()
                }
                for side in ("baseline", "this"):
                    rows.append(
                        {
                            "case": name,
                            "checkout": side if side == "this" else args.baseline,
                            "median wall s": medians[side],
                            "rows/s": None if n_rows is None else n_rows / medians[side],
                            "peak RSS MB": max(r for _, r in timings[side]),
                            "this / baseline (time)": medians["this"] / medians["baseline"]
                            if side == "this"
                            else None,
                        }
                    )
            print_table(
                f"whole process, this checkout against {args.baseline} ({args.runs} runs)",
                rows,
                [
                    "case",
                    "checkout",
                    "median wall s",
                    "rows/s",
                    "peak RSS MB",
                    "this / baseline (time)",
                ],
            )
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)],
                check=False,
                capture_output=True,
            )


if __name__ == "__main__":
    main()
