"""Bulk scoring speed and memory against the I/O floor and the script a user would write first.

    python bench/score.py [--sizes 10000000,100000000] [--csv-rows 10000000]

Cases, each in its own process so its peak RSS is its own, all in one run:
- fontpipe score (Parquet 10 M and 100 M rows; CSV 10 M rows)
- I/O floor: stream-read the same file with pyarrow and rewrite it, computing nothing
- naive: pandas.read_*, model.predict with batch 8192 (a generous baseline), to_parquet / to_csv
- naive-default-batch: the same with model.predict's default batch of 32, on 1 M rows (rows/s)

Targets on 2 cores: Parquet >= 0.6x the floor's rows/s, >= 5x the naive script, peak RSS < 500 MB.

Then the whole-process table against the peers (`bench/score_peers.py`, on an `r,g,b`-only
input): the pyarrow rewrite and `pyarrow.csv` floors, the gather-from-table scorer and the
DuckDB query, each timed alternately in the same run. `--peer-runs 0` skips it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, peak_rss_mb, print_table, run_case


def make_inputs(work: Path, sizes: list[int], csv_rows: int) -> dict[str, Path]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    files = {}
    rng = np.random.default_rng(0)
    for rows in sizes:
        path = work / f"palette-{rows}.parquet"
        with pq.ParquetWriter(
            path,
            pa.schema(
                [("id", pa.int64()), ("r", pa.uint8()), ("g", pa.uint8()), ("b", pa.uint8())]
            ),
        ) as writer:
            for start in range(0, rows, 1_000_000):
                n = min(1_000_000, rows - start)
                rgb = rng.integers(0, 256, (n, 3), dtype=np.uint8)
                writer.write_table(
                    pa.table(
                        {
                            "id": np.arange(start, start + n),
                            "r": rgb[:, 0],
                            "g": rgb[:, 1],
                            "b": rgb[:, 2],
                        }
                    )
                )
        files[f"parquet-{rows}"] = path
    path = work / f"palette-{csv_rows}.csv"
    with pacsv.CSVWriter(path, pa.schema([("id", pa.int64()), ("color", pa.string())])) as writer:
        for start in range(0, csv_rows, 1_000_000):
            n = min(1_000_000, csv_rows - start)
            value = rng.integers(0, 1 << 24, n)
            writer.write_table(
                pa.table(
                    {
                        "id": np.arange(start, start + n),
                        "color": np.char.add("#", np.char.mod("%06x", value)),
                    }
                )
            )
    files[f"csv-{csv_rows}"] = path
    return files


def make_model(work: Path) -> Path:
    from fontpipe.data.datasets import write_dataset
    from fontpipe.data.generation import GenerateConfig
    from fontpipe.registry.versions import ensure_cube_table
    from fontpipe.training.config import TrainConfig
    from fontpipe.training.train import train_version

    dataset, _ = write_dataset(GenerateConfig(rows=200_000, sampling="boundary"), work / "ds")
    version = train_version(dataset, TrainConfig(epochs=1), work / "models")
    ensure_cube_table(version)  # evaluation leaves it there; scoring reuses it
    return version.path


def case_fontpipe(path: Path, out: Path, model: Path) -> None:
    from fontpipe.scoring.job import score_files
    from fontpipe.scoring.plan import ScoreConfig

    score_files([str(path)], out, model, ScoreConfig())


def case_floor(path: Path, out: Path, model: Path) -> None:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if path.suffix == ".parquet":
        source = pq.ParquetFile(path)
        with pq.ParquetWriter(out, source.schema_arrow) as writer:
            for batch in source.iter_batches(batch_size=1 << 18):
                writer.write_batch(batch)
    else:
        reader = pacsv.open_csv(path)
        with pacsv.CSVWriter(out, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)


def case_naive(path: Path, out: Path, model_path: Path) -> None:
    from fontpipe.quiet import quiet_tensorflow

    quiet_tensorflow()
    import keras
    import pandas as pd

    model = keras.models.load_model(model_path / "model.keras")
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        rgb = frame[["r", "g", "b"]].to_numpy("float32")
    else:
        frame = pd.read_csv(path)
        hexes = frame["color"].str.lstrip("#")
        rgb = pd.DataFrame(
            {c: hexes.str[i : i + 2].apply(int, base=16) for c, i in (("r", 0), ("g", 2), ("b", 4))}
        ).to_numpy("float32")
    logits = model.predict(rgb, batch_size=8192, verbose=0)
    frame["p_black"] = keras.ops.convert_to_numpy(keras.ops.softmax(logits))[:, 1]
    frame["text_color"] = (frame["p_black"] > 0.5).map({True: "black", False: "white"})
    if out.suffix == ".parquet":
        frame.to_parquet(out)
    else:
        frame.to_csv(out, index=False)


def case_naive_default_batch(path: Path, out: Path, model_path: Path) -> None:
    """The same script with model.predict's default batch of 32, on the first 1 M rows only
    (the whole file would take many minutes); compare its rows/s."""
    import pyarrow.parquet as pq

    from fontpipe.quiet import quiet_tensorflow

    quiet_tensorflow()
    import keras

    model = keras.models.load_model(model_path / "model.keras")
    frame = pq.ParquetFile(path).read_row_groups([0]).to_pandas()
    logits = model.predict(frame[["r", "g", "b"]].to_numpy("float32"), verbose=0)
    frame["p_black"] = keras.ops.convert_to_numpy(keras.ops.softmax(logits))[:, 1]
    frame["text_color"] = (frame["p_black"] > 0.5).map({True: "black", False: "white"})
    frame.to_parquet(out)


CASES = {
    "fontpipe": case_fontpipe,
    "floor": case_floor,
    "naive": case_naive,
    "naive-default-batch": case_naive_default_batch,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000000,100000000")
    parser.add_argument("--csv-rows", type=int, default=10_000_000)
    parser.add_argument("--case")
    parser.add_argument("--input")
    parser.add_argument("--model")
    parser.add_argument("--rows", type=int)
    parser.add_argument("--peer-rows", type=int, default=10_000_000)
    parser.add_argument("--peer-runs", type=int, default=5)
    args = parser.parse_args()
    if args.case:
        path = Path(args.input)
        out = path.with_name(f"out-{args.case}{path.suffix}")
        started = time.perf_counter()
        CASES[args.case](path, out, Path(args.model))
        seconds = time.perf_counter() - started
        out.unlink(missing_ok=True)
        emit(
            {
                "case": args.case,
                "seconds": seconds,
                # The default-batch case scores only the first 1 M rows (one row group).
                "rows/s": (1_000_000 if args.case == "naive-default-batch" else args.rows)
                / seconds,
                "peak RSS MB": peak_rss_mb(),
            }
        )
        return
    with tempfile.TemporaryDirectory(prefix="fontpipe-bench-") as tmp:
        work = Path(tmp)
        sizes = [int(s) for s in args.sizes.split(",")]
        inputs = make_inputs(work, sizes, args.csv_rows)
        model = make_model(work)
        rows_of = {f"parquet-{s}": s for s in sizes} | {f"csv-{args.csv_rows}": args.csv_rows}
        results = []
        for name, path in inputs.items():
            measured = {}
            cases = ["floor", "fontpipe", "naive"]
            if name == f"parquet-{sizes[0]}":
                cases.append("naive-default-batch")
            for case in cases:
                result = run_case(
                    __file__,
                    case,
                    "--input",
                    str(path),
                    "--model",
                    str(model),
                    "--rows",
                    str(rows_of[name]),
                )
                measured[case] = result
                results.append({"input": name, **result})
            if "rows/s" in measured["fontpipe"]:
                for case in ("floor", "naive", "naive-default-batch"):
                    if "rows/s" in measured.get(case, {}):
                        results.append(
                            {
                                "input": name,
                                "case": f"fontpipe / {case}",
                                "ratio": measured["fontpipe"]["rows/s"] / measured[case]["rows/s"],
                            }
                        )
        print_table(
            "scoring (same run, same machine)",
            results,
            ["input", "case", "seconds", "rows/s", "peak RSS MB", "ratio", "error"],
        )
    if args.peer_runs:
        # Its own process: a child forked from this one would report this one's peak RSS.
        import subprocess

        peers = [str(Path(__file__).with_name("score_peers.py")), "--rows", str(args.peer_rows)]
        subprocess.run([sys.executable, *peers, "--runs", str(args.peer_runs)], check=True)


if __name__ == "__main__":
    main()
