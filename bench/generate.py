"""Dataset generation speed and memory: fontpipe's chunked writer against the obvious baseline
(numpy arrays for everything, then pandas.DataFrame.to_parquet of the whole frame).

    python bench/generate.py [--rows 10000000,100000000]

Targets on 2 cores: >= 20 M rows/s, peak RSS < 300 MB at 100 M rows, faster than the baseline.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, peak_rss_mb, print_table, run_case


def fontpipe_case(rows: int, out: Path) -> dict[str, object]:
    from fontpipe.data.datasets import write_dataset
    from fontpipe.data.generation import GenerateConfig

    started = time.perf_counter()
    write_dataset(GenerateConfig(rows=rows), out)
    return {"seconds": time.perf_counter() - started}


def baseline_case(rows: int, out: Path) -> dict[str, object]:
    import numpy as np
    import pandas as pd

    started = time.perf_counter()
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(rows, 3), dtype=np.uint8)
    label = (rgb.astype(np.int16).sum(axis=1) >= 383).astype(np.int8)
    split = rng.choice(np.array(["train", "val", "test"]), size=rows, p=[0.8, 0.1, 0.1])
    frame = pd.DataFrame(
        {"r": rgb[:, 0], "g": rgb[:, 1], "b": rgb[:, 2], "label": label, "split": split}
    )
    out.mkdir(parents=True)
    frame.to_parquet(out / "data.parquet")
    return {"seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="10000000,100000000")
    parser.add_argument("--case")
    args = parser.parse_args()
    if args.case:
        rows_text, out = args.rows, Path(tempfile.mkdtemp(prefix="fontpipe-bench-"))
        try:
            case = fontpipe_case if args.case == "fontpipe" else baseline_case
            result = case(int(rows_text), out / "ds")
        finally:
            shutil.rmtree(out, ignore_errors=True)
        emit({"case": args.case, "rows": int(rows_text), **result, "peak_rss_mb": peak_rss_mb()})
        return
    results = []
    for rows in (int(r) for r in args.rows.split(",")):
        for case in ("fontpipe", "baseline: numpy + pandas.to_parquet"):
            result = run_case(__file__, case.split(":")[0], "--rows", str(rows))
            result["case"] = case
            if "seconds" in result:
                result["M rows/s"] = rows / result["seconds"] / 1e6
            results.append(result)
    print_table(
        "generate (same run, same machine)",
        results,
        ["case", "rows", "seconds", "M rows/s", "peak_rss_mb", "error"],
    )


if __name__ == "__main__":
    main()
