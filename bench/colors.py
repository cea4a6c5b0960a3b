"""CSS Color 4 strings against hex: the cost of the colour grammar at scale, whole process.

    python bench/colors.py [--rows 10000000] [--distinct 5000] [--runs 3]

Two CSV files with the same rows: one of `oklch()` strings drawn from `--distinct` values (as a
design system's palette repeats across a big table), one of the very same colours as `#rrggbb`.
Each is scored by `fontpipe score` in its own process, alternately; printed are the median wall
time, rows/s and the ratio. Target: oklch within 1.5x of hex. Nothing is asserted.
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
from _common import print_table

FONTPIPE = str(Path(sys.executable).with_name("fontpipe"))


def make_files(work: Path, rows: int, distinct: int) -> tuple[Path, Path]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from fontpipe.color.css import parse_color

    rng = np.random.default_rng(0)
    lightness = rng.uniform(20, 95, distinct)
    chroma = rng.uniform(0.02, 0.3, distinct)
    hue = rng.uniform(0, 360, distinct)
    css = np.array(
        [
            f"oklch({lum:.1f}% {c:.3f} {h:.1f})"
            for lum, c, h in zip(lightness, chroma, hue, strict=True)
        ]
    )
    hexes = np.array([parse_color(value).hex for value in css])
    paths = work / "oklch.csv", work / "hex.csv"
    schema = pa.schema([("id", pa.int64()), ("color", pa.string())])
    with pacsv.CSVWriter(paths[0], schema) as css_out, pacsv.CSVWriter(paths[1], schema) as hex_out:
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            pick = rng.integers(0, distinct, n)
            ids = np.arange(start, start + n)
            css_out.write_table(pa.table({"id": ids, "color": css[pick]}, schema=schema))
            hex_out.write_table(pa.table({"id": ids, "color": hexes[pick]}, schema=schema))
    return paths


def make_model(work: Path) -> Path:
    code = (
        "import sys; from pathlib import Path\n"
        "from fontpipe.data.datasets import write_dataset\n"
        "from fontpipe.data.generation import GenerateConfig\n"
        "from fontpipe.training.config import TrainConfig\nfrom fontpipe.training.train import train_version\n"
        "from fontpipe.registry.versions import ensure_cube_table\n"
        "w = Path(sys.argv[1])\n"
        "d, _ = write_dataset(GenerateConfig(rows=50_000, sampling='boundary'), w / 'ds')\n"
        "v = train_version(d, TrainConfig(epochs=1), w / 'models')\n"
        "ensure_cube_table(v)\nprint(v.path)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(work)], capture_output=True, text=True, check=True
    )
    return Path(done.stdout.strip().splitlines()[-1])


def score_seconds(source: Path, model: Path) -> float:
    out = source.with_name(f"out-{source.stem}.csv")
    started = time.perf_counter()
    subprocess.run(
        [FONTPIPE, "score", str(source), "--out", str(out), "--model", str(model)],
        check=True,
        capture_output=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    seconds = time.perf_counter() - started
    out.unlink()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--distinct", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fontpipe-bench-") as tmp:
        work = Path(tmp)
        model = make_model(work)
        oklch, hexes = make_files(work, args.rows, args.distinct)
        times: dict[str, list[float]] = {"oklch": [], "hex": []}
        score_seconds(hexes, model)  # warm the page cache
        for _ in range(args.runs):
            times["oklch"].append(score_seconds(oklch, model))
            times["hex"].append(score_seconds(hexes, model))
        medians = {name: statistics.median(values) for name, values in times.items()}
        rows = [
            {
                "input": f"{name} ({args.distinct:,} distinct)" if name == "oklch" else name,
                "file MB": (oklch if name == "oklch" else hexes).stat().st_size / 1e6,
                "median wall s": medians[name],
                "rows/s": args.rows / medians[name],
                "time / hex": medians[name] / medians["hex"],
            }
            for name in ("hex", "oklch")
        ]
        print_table(
            f"fontpipe score, {args.rows:,} rows, whole process ({args.runs} runs each)",
            rows,
            ["input", "file MB", "median wall s", "rows/s", "time / hex"],
        )


if __name__ == "__main__":
    main()
