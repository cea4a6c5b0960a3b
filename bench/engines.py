"""Do three hand-built engines beat the library route by >= 10% on the headline job?

    python bench/engines.py [--rows N] [--runs K] [--css-rows N] [--distinct N]
                            [--all-distinct N] [--model VERSION_DIR] [--only join,gamut,split]

1. parquet_join vs pyarrow ParquetWriter re-encoding: the whole `fontpipe score` (the join is
   refused by a patch in a child process) and the assembly step alone on the same parts, with
   DuckDB `COPY ... TO (FORMAT parquet)` as a third route.
2. gamut.map_into_srgb vs ColorAide's oklch-chroma fit once per distinct colour (cached), at
   the seam css.py calls: the step alone, and the whole `fontpipe score` of a CSS palette.
3. plan._line_parts + parts read on a thread per core vs pyarrow.csv read_csv / open_csv, and
   the whole `fontpipe score` of the CSV in byte-range parts vs one streamed part.

Routes run interleaved (A B A B ...); medians, ratio = library / engine. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cube_model  # the model the other benches use, made in a child

Routes = dict[str, Callable[[], Any]]
ROWS: list[tuple[str, str, float, float]] = []


@functools.cache
def _fit(lightness: float, a: float, b: float) -> tuple[float, ...]:
    from coloraide import Color

    srgb = Color("oklab", [lightness, a, b]).convert("srgb")
    return tuple(srgb.fit(method="oklch-chroma").coords(nans=False))


def coloraide_map(lab: npt.NDArray[np.float64], fresh: bool = False) -> npt.NDArray[np.float64]:
    """map_into_srgb's contract through ColorAide, once per distinct colour (`fresh`: an empty
    cache)."""
    if fresh:
        _fit.cache_clear()
    rows = [_fit(*row) for row in np.asarray(lab, dtype=np.float64).reshape(-1, 3).tolist()]
    return np.clip(np.array(rows, dtype=np.float64).reshape(-1, 3), 0.0, 1.0)


def child(route: str, argv: list[str]) -> None:
    """`fontpipe ARGV` with one engine swapped for its library route ("join", "numpy": none)."""
    import fontpipe.color.css as css
    import fontpipe.color.gamut as gamut
    import fontpipe.scoring.assemble as assemble
    from fontpipe.scoring.parquet_join import ParquetJoinError

    class NoJoin:  # every append refused, so the assembler re-encodes with ParquetWriter
        def __init__(self, target: object) -> None: ...
        def append(self, piece: object) -> None:
            raise ParquetJoinError("bench: the library route")

        def close(self) -> None: ...

    if route == "reencode":
        vars(assemble)["JoinedParquetFile"] = NoJoin
    elif route == "onepart":  # no byte ranges: Arrow's streaming reader over the whole file
        import fontpipe.scoring.plan as plan

        plan.ScoreConfig.model_fields["csv_part_bytes"].default = 1 << 50
        plan.ScoreConfig.model_rebuild(force=True)
    elif route == "coloraide":  # css.py may hold its own reference to map_into_srgb
        for module in (gamut, css):
            if "map_into_srgb" in vars(module):
                vars(module)["map_into_srgb"] = coloraide_map
    from cli.app import main

    sys.argv = ["fontpipe", *argv]
    main()


def interleaved(routes: Routes, runs: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in routes}
    for _ in range(runs):
        for name, route in routes.items():
            started = time.perf_counter()
            route()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(t) for name, t in times.items()}


def report(engine: str, library: str, medians: dict[str, float], ours: str, lib: str) -> None:
    ROWS.append((engine, library, medians[ours], medians[lib]))
    print(f"  {engine}: {medians[ours]:.3f} s | {library}: {medians[lib]:.3f} s", flush=True)


def score(route: str, model: Path, source: Path, out: Path) -> Callable[[], object]:
    command = [sys.executable, __file__, "--child", route, "score", str(source), "--out"]
    command += [str(out), "--model", str(model), "--json"]

    def run() -> None:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"{route}: {done.stderr[-2000:]}")

    return run


def same_rows(a: Path, b: Path) -> bool:
    """Same rows and values (the first file's dictionary columns read as the second's type)."""
    left, right = (pq.read_table(p).replace_schema_metadata() for p in (a, b))
    return bool(left.cast(right.schema).equals(right))


def assembly_routes(pieces: list[Path], work: Path) -> Routes:
    import duckdb

    from fontpipe.scoring.parquet_join import JoinedParquetFile
    from fontpipe.scoring.part import parquet_output_options

    def join() -> None:
        joined = JoinedParquetFile(work / "a-join.parquet")
        for piece in pieces:
            joined.append(piece)
        joined.finish()

    def pyarrow() -> None:  # OutputAssembler._reencode, for every part
        writer: Any = None
        for piece in pieces:
            part = pq.read_table(piece, memory_map=True)
            options = parquet_output_options(part.schema)
            writer = writer or pq.ParquetWriter(work / "a-pyarrow.parquet", part.schema, **options)
            writer.write_table(part)
        writer.close()

    group = pq.ParquetFile(pieces[0]).metadata.row_group(0).num_rows
    listed = ", ".join(f"'{p}'" for p in pieces)
    copy = f"COPY (SELECT * FROM read_parquet([{listed}])) TO '{work / 'a-duckdb.parquet'}' "
    copy += f"(FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE {group})"
    return {"join": join, "pyarrow": pyarrow, "duckdb": lambda: duckdb.connect().execute(copy)}


def bench_join(work: Path, model: Path, rows: int, runs: int) -> None:
    from fontpipe.scoring.job import prepare_job, run_parts_here
    from fontpipe.scoring.plan import ScoreConfig

    rgb = np.random.default_rng(0).integers(0, 256, (rows, 3), dtype=np.uint8)
    source = work / "in.parquet"
    table = pa.table({"r": rgb[:, 0], "g": rgb[:, 1], "b": rgb[:, 2]})
    pq.write_table(table, source, row_group_size=1 << 20)
    print(f"1. parquet_join: {rows:,} rows of r,g,b uint8", flush=True)
    whole = {r: score(r, model, source, work / f"{r}.parquet") for r in ("join", "reencode")}
    report("join: whole score", "ParquetWriter: whole", interleaved(whole, runs), *whole)
    print(f"  outputs equal: {same_rows(work / 'join.parquet', work / 'reencode.parquet')}")
    job = prepare_job([str(source)], work / "p.parquet", model, ScoreConfig())
    list(run_parts_here(job, job.parts))  # the parts a score job writes, left unassembled
    pieces = [job.part_paths(p.index).output for p in job.parts]
    size = sum(p.stat().st_size for p in pieces) / 1e6
    medians = interleaved(assembly_routes(pieces, work), runs)
    for lib in ("pyarrow", "duckdb"):
        report(f"join: assemble {len(pieces)} parts {size:.0f} MB", lib, medians, "join", lib)
        equal = same_rows(work / "a-join.parquet", work / f"a-{lib}.parquet")
        print(f"  outputs equal, join vs {lib}: {equal}")


def css_strings(count: int, seed: int) -> list[str]:
    """Distinct out-of-gamut CSS colours: oklch() and color(display-p3 ...), mixed."""
    rng = np.random.default_rng(seed)
    found: set[str] = set()
    while len(found) < count:
        light, chroma, hue = rng.uniform(20, 95), rng.uniform(0.2, 0.4), rng.uniform(0, 360)
        found.add(f"oklch({light:.2f}% {chroma:.3f} {hue:.1f})")
        p3 = rng.uniform(0, 1, 3)
        p3[rng.integers(3)], p3[rng.integers(3)] = rng.uniform(0.95, 1), rng.uniform(0, 0.05)
        found.add("color(display-p3 {:.3f} {:.3f} {:.3f})".format(*p3))
    return list(rng.permutation(sorted(found))[:count])


def bench_gamut(work: Path, model: Path, args: argparse.Namespace) -> None:
    from fontpipe.color import css
    from fontpipe.color.gamut import map_into_srgb

    rows, distinct = args.css_rows, args.distinct
    print(f"2. gamut: {rows:,} CSS rows over {distinct:,} distinct strings", flush=True)
    strings = css_strings(max(distinct, args.all_distinct), 1)
    picks = np.random.default_rng(3).integers(0, distinct, rows)
    for count in (distinct, args.all_distinct):
        found = [css._parse_one(s, css.WHITE) for s in strings[:count]]
        outside = np.array([isinstance(f, css._OutOfGamut) for f in found])
        lab = np.array([f.oklab for f in found if isinstance(f, css._OutOfGamut)])
        routes: Routes = {
            "numpy": functools.partial(map_into_srgb, lab),
            "coloraide": functools.partial(coloraide_map, lab, fresh=True),
        }
        name = f"gamut: map {len(lab):,} of {count:,} distinct"
        report(name, "ColorAide per string", interleaved(routes, runs=args.runs), *routes)
        differs = np.zeros(count, dtype=bool)
        eight = [np.round(f(lab) * 255) for f in (map_into_srgb, coloraide_map)]
        differs[outside] = np.any(eight[0] != eight[1], axis=1)
        where = differs[picks] if count == distinct else differs
        print(f"  differing 8-bit rows: {int(where.sum())} of {len(where):,}")
    palette = work / "palette.csv"
    pacsv.write_csv(pa.table({"color": pa.array(strings[:distinct]).take(picks)}), palette)
    whole = {r: score(r, model, palette, work / f"css-{r}.parquet") for r in ("numpy", "coloraide")}
    report("gamut: whole score", "ColorAide: whole", interleaved(whole, args.runs), *whole)
    print(
        f"  outputs equal: {same_rows(work / 'css-numpy.parquet', work / 'css-coloraide.parquet')}"
    )


def csv_routes(path: Path, names: list[str]) -> Routes:
    from fontpipe.scoring.plan import Part, ScoreConfig, _line_parts
    from fontpipe.scoring.read import _csv_convert_all_strings, iter_part_chunks

    config = ScoreConfig()
    convert = _csv_convert_all_strings(names)
    parse = pacsv.ParseOptions(newlines_in_values=True)  # as general as the splitter

    def read_part(part: Part) -> list[pa.RecordBatch]:
        return [chunk.batch for chunk in iter_part_chunks(part, names, config)]

    def engine() -> pa.Table:
        parts = _line_parts(path, config, 0, "csv", delimiter=",")
        with ThreadPoolExecutor(min(len(parts), os.cpu_count() or 1)) as pool:
            return pa.Table.from_batches([b for bs in pool.map(read_part, parts) for b in bs])

    return {
        "engine": engine,
        "read_csv": lambda: pacsv.read_csv(path, parse_options=parse, convert_options=convert),
        "open_csv": lambda: pacsv.open_csv(
            path, parse_options=parse, convert_options=convert
        ).read_all(),
    }


def bench_split(work: Path, model: Path, rows: int, runs: int) -> None:
    rgb = np.random.default_rng(4).integers(0, 256, (rows, 3), dtype=np.uint8)
    digits = pa.array([f"{i:02x}" for i in range(256)])
    hexes = pc.binary_join_element_wise("#", *(digits.take(rgb[:, i]) for i in range(3)), "")
    tables = {"r,g,b": pa.table({"r": rgb[:, 0], "g": rgb[:, 1], "b": rgb[:, 2]})}
    tables["color"] = pa.table({"color": hexes})
    print(f"3. CSV splitter: {rows:,} rows", flush=True)
    for label, table in tables.items():
        path = work / f"{label.replace(',', '')}.csv"
        pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="none"))
        routes = csv_routes(path, table.schema.names)
        medians = interleaved(routes, runs)
        name = f"split+parts: {label} CSV {path.stat().st_size / 1e6:.0f} MB"
        for lib in ("read_csv", "open_csv"):
            report(name, f"pyarrow.csv.{lib}", medians, "engine", lib)
        print(f"  same rows as read_csv: {routes['engine']().equals(routes['read_csv']())}")
        # The headline job: the whole `fontpipe score` of the CSV, in byte-range parts on every
        # core, or as one part that Arrow's streaming reader reads front to back.
        outs = {r: work / f"{r}.parquet" for r in ("split", "onepart")}
        whole = {
            "split": score("numpy", model, path, outs["split"]),
            "onepart": score("onepart", model, path, outs["onepart"]),
        }
        medians = interleaved(whole, runs)
        name = f"split, whole score: {label} CSV"
        report(name, "one streamed part, whole score", medians, "split", "onepart")
        print(f"  same output: {same_rows(outs['split'], outs['onepart'])}")


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        return child(sys.argv[2], sys.argv[3:])
    parser = argparse.ArgumentParser(description="engines vs library routes")
    for flag, default in [("rows", 10_000_000), ("runs", 5), ("css-rows", 1_000_000)]:
        parser.add_argument(f"--{flag}", type=int, default=default)
    parser.add_argument("--distinct", type=int, default=20_000)
    parser.add_argument("--all-distinct", type=int, default=50_000)
    parser.add_argument("--model", type=Path, help="a model version directory (else trained)")
    parser.add_argument("--only", default="join,gamut,split", help="which engines, comma-separated")
    args = parser.parse_args()
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((ln.split(":")[1].strip() for ln in lines if ln.startswith("model name")), "?")
    machine = f"machine: {os.cpu_count()} cores, {cpu}; runs: {args.runs}"
    print(f"{machine}; load {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="fontpipe-engines-") as temp:
        work = Path(temp)
        model = args.model or cube_model(work)
        engines = set(args.only.split(","))
        if "join" in engines:
            bench_join(work, model, args.rows, args.runs)
        if "gamut" in engines:
            bench_gamut(work, model, args)
        if "split" in engines:
            bench_split(work, model, args.rows, args.runs)
    print(f"\n{machine}; load {os.getloadavg()[0]:.2f}; rows {args.rows:,}")
    print(f"{'engine':<38} {'library route':<22} {'engine s':>9} {'library s':>9}  ratio  verdict")
    for engine, library, ours, theirs in ROWS:
        verdict = "pays (>=1.10x)" if theirs / ours >= 1.10 else "does not pay"
        print(
            f"{engine:<38} {library:<22} {ours:9.3f} {theirs:9.3f} {theirs / ours:5.2f}x  {verdict}"
        )


if __name__ == "__main__":
    main()
