"""Bulk scoring of palette files (CSV or Parquet) with bounded memory, resumable by parts.

A job is cut into parts: groups of Parquet row groups, or CSV byte ranges that start on a record
boundary. Each part is scored and written atomically into a hidden parts directory beside the
output, with a small JSON file as its commit marker; re-running the same job skips finished parts.
When every part is done they are assembled, in input order, into the output (atomically) and the
rejects file, and the parts directory is removed.

For 8-bit colours P(black) is a gather from the model's cube table, so scoring costs about as much
as reading and writing; colours off the integer grid go through the Keras model in large batches.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from fontpipe.atomic import atomic_file
from fontpipe.colors import ColorSpec, ParsedColors, Scale, detect_color_spec, parse_colors
from fontpipe.errors import FontpipeError
from fontpipe.evaluate import lookup_p_black
from fontpipe.rules import _WEIGHTED_LINEAR, relative_luminance
from fontpipe.schema import (
    CONTRAST_RATIO,
    MODEL_VERSION,
    P_BLACK,
    TEXT_COLOR,
    WCAG_AA,
    WCAG_AA_RATIO,
)

PARTS_FORMAT = "fontpipe-score-parts/1"
REJECT_COLUMNS = ("source_file", "row", "column", "value", "reason")
OUTPUT_FIELDS = (
    pa.field(P_BLACK, pa.float32()),
    pa.field(TEXT_COLOR, pa.dictionary(pa.int8(), pa.string())),
    pa.field(CONTRAST_RATIO, pa.float32()),
    pa.field(WCAG_AA, pa.bool_()),
    pa.field(MODEL_VERSION, pa.dictionary(pa.int8(), pa.string())),
)
OUTPUT_COLUMNS = tuple(f.name for f in OUTPUT_FIELDS)


class ScoreConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    on_error: Literal["fail", "quarantine"] = "fail"
    color_column: str | None = None
    rgb_columns: tuple[str, str, str] | None = None
    scale: Scale | None = None
    part_rows: int = Field(2_000_000, gt=0)  # Parquet: row groups are grouped up to this many rows
    csv_part_bytes: int = Field(64 << 20, gt=0)
    batch_rows: int = Field(1 << 19, gt=0)  # rows read and scored at a time


@dataclass(frozen=True)
class Part:
    index: int
    file: str
    kind: Literal["parquet", "csv"]
    first_row: int  # 0-based data-row number of the part's first row within its file
    rows: int | None  # known for Parquet; None for CSV
    row_groups: tuple[int, ...] = ()
    byte_start: int = 0
    byte_end: int = 0


@dataclass
class PartResult:
    index: int
    read: int = 0
    scored: int = 0
    rejected: int = 0
    black: int = 0
    aa: int = 0


@dataclass
class ScoreSummary:
    output: str
    rejects: str | None
    read: int
    scored: int
    rejected: int
    black_share: float
    aa_share: float
    seconds: float
    parts: int
    parts_reused: int
    model_version: str

    @property
    def rows_per_second(self) -> float:
        return self.read / self.seconds if self.seconds else 0.0


# ---------------------------------------------------------------------------------------------
# Inputs and plan


def file_format(path: Path) -> Literal["parquet", "csv"] | None:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".csv", ".txt"):
        return "csv"
    return None


def output_format(path: Path) -> Literal["parquet", "csv"]:
    found = file_format(path)
    if found is None:
        raise FontpipeError(f"{path}: unknown output format; name it .parquet or .csv")
    return found


def input_kind(path: Path) -> Literal["parquet", "csv"]:
    found = file_format(path)
    if found is None:
        raise FontpipeError(f"{path}: not a .csv or .parquet file")
    return found


def expand_inputs(inputs: list[str]) -> list[Path]:
    """Files, directories (their .csv/.parquet files, sorted) and globs -> an ordered file list."""
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and file_format(p) is not None)
            if not found:
                raise FontpipeError(f"{path}: directory holds no .csv or .parquet files")
            files += found
        elif path.exists():
            files.append(path)
        elif any(ch in item for ch in "*?["):
            matched = sorted(Path(p) for p in glob.glob(item, recursive=True) if Path(p).is_file())
            if not matched:
                raise FontpipeError(f"{item}: the pattern matches no file")
            files += matched
        else:
            raise FontpipeError(f"{item}: no such file or directory")
    for file in files:
        input_kind(file)
        if not os.access(file, os.R_OK):
            raise FontpipeError(f"{file}: cannot read the file (permission denied)")
    return files


def check_output(files: list[Path], out: Path) -> None:
    output_format(out)
    resolved = out.resolve()
    for file in files:
        if file.resolve() == resolved:
            raise FontpipeError(f"{out}: the output path is also an input; choose another --out")
    if out.exists() and out.is_dir():
        raise FontpipeError(f"{out}: is a directory; --out names the output file")
    if not out.parent.exists():
        try:
            out.parent.mkdir(parents=True)
        except OSError as exc:
            raise FontpipeError(
                f"{out}: cannot create the output directory ({exc.strerror})"
            ) from None
    if not os.access(out.parent, os.W_OK):
        raise FontpipeError(f"{out}: cannot write in {out.parent}")


def csv_header(path: Path) -> list[str]:
    """Column names from the first line alone, so a bad row further down cannot hide the header."""
    import csv
    import io

    try:
        with path.open("rb") as handle:
            first = handle.readline()
        names = next(csv.reader(io.StringIO(first.decode("utf-8-sig"))), [])
    except UnicodeDecodeError:
        raise FontpipeError(f"{path}: the header line is not UTF-8") from None
    except OSError as exc:
        raise FontpipeError(f"{path}: unreadable CSV ({exc.strerror})") from None
    names = [n.strip() for n in names]
    if not names or not any(names):
        raise FontpipeError(f"{path}: no header line; the first line must name the columns")
    return names


def file_columns(path: Path) -> list[str]:
    if input_kind(path) == "csv":
        return csv_header(path)
    try:
        return pq.read_schema(path).names
    except (pa.ArrowInvalid, OSError) as exc:
        raise FontpipeError(f"{path}: unreadable Parquet file ({exc})") from None


def plan_parts(files: list[Path], config: ScoreConfig) -> list[Part]:
    parts: list[Part] = []
    for file in files:
        if input_kind(file) == "parquet":
            parts += _parquet_parts(file, config, len(parts))
        else:
            parts += _csv_parts(file, config, len(parts))
    return parts


def _parquet_parts(file: Path, config: ScoreConfig, start_index: int) -> list[Part]:
    meta = pq.read_metadata(file)
    parts: list[Part] = []
    group: list[int] = []
    group_rows = 0
    first_row = 0
    for rg in range(meta.num_row_groups):
        group.append(rg)
        group_rows += meta.row_group(rg).num_rows
        if group_rows >= config.part_rows or rg == meta.num_row_groups - 1:
            parts.append(
                Part(
                    start_index + len(parts),
                    str(file),
                    "parquet",
                    first_row,
                    group_rows,
                    row_groups=tuple(group),
                )
            )
            first_row += group_rows
            group, group_rows = [], 0
    if not parts:  # a file with no row groups still yields an empty part, so its schema is seen
        parts.append(Part(start_index, str(file), "parquet", 0, 0, row_groups=()))
    return parts


def _csv_parts(file: Path, config: ScoreConfig, start_index: int) -> list[Part]:
    """Byte ranges of about csv_part_bytes that start right after a record-ending newline.

    A newline ends a record only outside quotes; in RFC 4180 CSV an even count of '"' before a
    position means it is outside quotes (an escaped "" counts twice), so one scan of quote parity
    finds safe split points and counts the records before each.
    """
    size = file.stat().st_size
    with file.open("rb") as handle:
        first_line = handle.readline()
    header_end = len(first_line)
    if size - header_end <= config.csv_part_bytes:
        return [Part(start_index, str(file), "csv", 0, None, byte_start=header_end, byte_end=size)]
    bounds = [header_end]
    records_before = [0]
    parity = 0
    records = 0
    target = header_end + config.csv_part_bytes
    block_size = 8 << 20
    with file.open("rb") as handle:
        handle.seek(header_end)
        position = header_end
        while True:
            block = handle.read(block_size)
            if not block:
                break
            data = np.frombuffer(block, dtype=np.uint8)
            quote_parity = (np.cumsum(data == 34, dtype=np.int64) + parity) & 1
            record_ends = np.flatnonzero((data == 10) & (quote_parity == 0))
            while True:
                offset_in_block = target - position
                if offset_in_block >= len(block):
                    break
                candidates = record_ends[record_ends >= max(offset_in_block, 0)]
                if not len(candidates):
                    break
                split = int(candidates[0])
                bounds.append(position + split + 1)
                records_before.append(records + int(np.count_nonzero(record_ends < split + 1)))
                target = position + split + 1 + config.csv_part_bytes
            records += len(record_ends)
            parity = int(quote_parity[-1])
            position += len(block)
    if bounds[-1] >= size:
        bounds.pop()
        records_before.pop()
    bounds.append(size)
    return [
        Part(
            start_index + i,
            str(file),
            "csv",
            records_before[i],
            None,
            byte_start=bounds[i],
            byte_end=bounds[i + 1],
        )
        for i in range(len(bounds) - 1)
    ]


# ---------------------------------------------------------------------------------------------
# The scorer: a model version's cube table (memory-mapped) plus the model for off-grid colours


class Scorer:
    def __init__(self, version_path: Path) -> None:
        from fontpipe.assess import ensure_cube_table
        from fontpipe.registry import verify_version

        self.version_path = Path(version_path)
        self.version = str(verify_version(self.version_path)["version"])
        # A plain ndarray over the memory map: same shared pages, without np.memmap's per-call
        # subclass overhead on every gather.
        self.table = np.asarray(ensure_cube_table(self.version_path))
        self._model_p_black: Callable[[npt.NDArray[np.float32]], npt.NDArray[np.float32]] | None = (
            None
        )

    def p_black(self, rgb: npt.NDArray[Any], on_grid: bool) -> npt.NDArray[np.float32]:
        if on_grid:
            return lookup_p_black(self.table, rgb.astype(np.uint8, copy=False))
        if self._model_p_black is None:
            from fontpipe.cube import probability_function
            from fontpipe.train import load_model_version

            model, _ = load_model_version(self.version_path)
            self._model_p_black = probability_function(model)
        out = np.empty(len(rgb), dtype=np.float32)
        floats = rgb.astype(np.float32)
        for start in range(0, len(rgb), 1 << 20):
            out[start : start + (1 << 20)] = self._model_p_black(floats[start : start + (1 << 20)])
        return out


@functools.lru_cache(maxsize=4)
def cached_scorer(version_path: str) -> Scorer:
    """One scorer per process and model: a Dask worker loads the cube table once, not per task."""
    return Scorer(Path(version_path))


# Weighted linear channel values in float32: half the memory traffic of the float64 tables.
_WEIGHTED_LINEAR_32 = tuple(w.astype(np.float32) for w in _WEIGHTED_LINEAR)
# Rows whose float32 contrast lies this close to 4.5:1 are recomputed in float64, so the AA
# verdict is exact WCAG (float32 alone flips 2 of the cube's 33.5 M colour/text pairs).
_AA_RECHECK = 1e-4


def score_columns(
    rgb: npt.NDArray[Any], p_black: npt.NDArray[np.float32], version: str
) -> list[pa.Array]:
    black = p_black > 0.5
    if rgb.dtype == np.uint8:
        wr, wg, wb = _WEIGHTED_LINEAR_32
        luminance = wr[rgb[:, 0]] + wg[rgb[:, 1]] + wb[rgb[:, 2]]
    else:
        luminance = relative_luminance(rgb).astype(np.float32)
    luminance += np.float32(0.05)
    contrast = np.where(black, luminance * np.float32(20.0), np.float32(1.05) / luminance)
    aa = contrast >= WCAG_AA_RATIO
    near = np.flatnonzero(np.abs(contrast - np.float32(WCAG_AA_RATIO)) < _AA_RECHECK)
    if len(near):
        exact = relative_luminance(rgb[near]) + 0.05
        exact = np.where(black[near], exact / 0.05, 1.05 / exact)
        contrast[near] = exact
        aa[near] = exact >= WCAG_AA_RATIO
    n = len(p_black)
    return [
        pa.array(p_black, type=pa.float32()),
        pa.DictionaryArray.from_arrays(pa.array(black.view(np.int8)), pa.array(["white", "black"])),
        pa.array(contrast, type=pa.float32()),
        pa.array(aa),
        pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int8)), pa.array([version])),
    ]


# ---------------------------------------------------------------------------------------------
# Reading a part


def _csv_convert_all_strings(names: list[str]) -> pacsv.ConvertOptions:
    # Every column is read as text: values pass through unchanged, and a bad value in a colour
    # column becomes a rejected row instead of a conversion error for the whole block.
    return pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names},
        check_utf8=False,
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        null_values=[],
        auto_dict_encode=False,
    )


@dataclass
class _Chunk:
    batch: pa.RecordBatch
    rows: npt.NDArray[np.int64]  # 1-based data-row number in its file, per row
    malformed: list[tuple[int, str, str]] = field(default_factory=list)  # (row, raw text, reason)


def iter_part_chunks(part: Part, names: list[str], config: ScoreConfig) -> Iterator[_Chunk]:
    if part.kind == "parquet":
        parquet = pq.ParquetFile(part.file)
        row = part.first_row
        if not part.row_groups:
            return
        for batch in parquet.iter_batches(
            batch_size=config.batch_rows, row_groups=list(part.row_groups)
        ):
            yield _Chunk(batch, np.arange(row + 1, row + 1 + batch.num_rows, dtype=np.int64))
            row += batch.num_rows
        return
    yield from _iter_csv_chunks(part, names, config)


CSV_BLOCK_BYTES = 8 << 20  # bytes parsed at a time within a part


def _iter_csv_chunks(part: Part, names: list[str], config: ScoreConfig) -> Iterator[_Chunk]:
    invalid: list[
        tuple[int, int, str, str]
    ] = []  # (physical line within the range, expected, actual, text)

    def on_invalid_row(row: Any) -> str:
        invalid.append((int(row.number or 0), row.expected_columns, row.actual_columns, row.text))
        return "skip"

    with pa.memory_map(part.file) as source:
        data = source.read_at(part.byte_end - part.byte_start, part.byte_start)
    if len(data) == 0:
        return
    reader = pacsv.open_csv(
        pa.BufferReader(data),
        read_options=pacsv.ReadOptions(
            column_names=names, use_threads=False, block_size=CSV_BLOCK_BYTES
        ),
        parse_options=pacsv.ParseOptions(
            newlines_in_values=True, invalid_row_handler=on_invalid_row
        ),
        convert_options=_csv_convert_all_strings(names),
    )
    # Records are numbered in file order; malformed ones are skipped by the reader and reported
    # by their line, which equals their record position when records are one line each.
    next_record = 0
    for batch in reader:
        # pyarrow numbers lines from the start of the part's byte range, so `line - 1` is the
        # record's index within the part (exact while records are one line each).
        bad_here = [
            (line - 1, text, f"wrong column count (expected {exp}, got {act})")
            for line, exp, act, text in invalid
        ]
        invalid.clear()
        total = batch.num_rows + len(bad_here)
        positions = np.arange(next_record, next_record + total, dtype=np.int64)
        if bad_here:
            positions = positions[~np.isin(positions, [pos for pos, _, _ in bad_here])]
        rows = part.first_row + 1 + positions[: batch.num_rows]
        malformed = [(part.first_row + 1 + pos, text, why) for pos, text, why in bad_here]
        yield _Chunk(batch, rows, malformed)
        next_record += total
    if invalid:
        yield _Chunk(
            pa.RecordBatch.from_pylist([], schema=pa.schema([(n, pa.string()) for n in names])),
            np.zeros(0, np.int64),
            [
                (part.first_row + line, text, f"wrong column count (expected {exp}, got {act})")
                for line, exp, act, text in invalid
            ],
        )


def _invalid_utf8_rows(batch: pa.RecordBatch) -> dict[int, str]:
    """Rows with bytes that are not UTF-8 in any text column (CSV is read without the check)."""
    bad: dict[int, str] = {}
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if not pa.types.is_string(column.type):
            continue
        try:
            column.validate(full=True)
        except pa.ArrowInvalid:
            for i, value in enumerate(column.cast(pa.binary()).to_pylist()):
                try:
                    (value or b"").decode("utf-8")
                except UnicodeDecodeError:
                    bad.setdefault(i, name)
    return bad


# ---------------------------------------------------------------------------------------------
# Scoring a part


def parts_dir_for(out: Path) -> Path:
    return out.parent / f".{out.name}.parts"


def job_fingerprint(files: list[Path], out: Path, version: str, config: ScoreConfig) -> str:
    stats = [(str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns) for f in files]
    blob = json.dumps(
        [stats, str(out.resolve()), version, config.model_dump(mode="json"), PARTS_FORMAT]
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _part_paths(parts_dir: Path, index: int, fmt: str) -> tuple[Path, Path, Path]:
    stem = parts_dir / f"part-{index:06d}"
    return stem.with_suffix(f".{fmt}"), Path(f"{stem}.rejects.csv"), stem.with_suffix(".json")


def run_part(
    job: ScoreJob, part: Part, progress: Callable[[int], None] | None = None
) -> PartResult:
    """Score one part into its own output and rejects files, then write its commit marker."""
    names, spec, config, out_format = job.names, job.spec, job.config, job.out_format
    only_part = len(job.parts) == 1
    parts_root = job.parts_dir
    out_path, rejects_path, marker = _part_paths(parts_root, part.index, out_format)
    if marker.exists():
        return PartResult(**json.loads(marker.read_text()))
    scorer = cached_scorer(str(job.version_path))
    result = PartResult(index=part.index)
    reject_rows: list[dict[str, str]] = []
    source = part.file
    with atomic_file(out_path) as staging_out:
        writer: Any = None
        try:
            for chunk in iter_part_chunks(part, names, config):
                batch = chunk.batch
                result.read += batch.num_rows + len(chunk.malformed)
                bad_utf8 = _invalid_utf8_rows(batch) if part.kind == "csv" else {}
                parsed = (
                    parse_colors(batch, spec, config.scale)
                    if batch.num_rows
                    else ParsedColors(np.zeros(0, bool), np.zeros((0, 3), np.uint8), True, [])
                )
                problems: list[tuple[int, str, str, str]] = [
                    (int(chunk.rows[i]), column, "<bytes>", "invalid UTF-8")
                    for i, column in bad_utf8.items()
                ]
                problems += [
                    (int(chunk.rows[i]), column, value, reason)
                    for i, column, value, reason in parsed.reasons
                    if i not in bad_utf8
                ]
                problems += [(row, "", text, why) for row, text, why in chunk.malformed]
                if problems and config.on_error == "fail":
                    row, column, value, reason = min(problems)
                    where = f", column {column!r}" if column else ""
                    raise FontpipeError(
                        f"{part.file}: row {row}{where}: {reason} (value {value!r}); nothing was written. Use --on-error quarantine to set bad rows aside"
                    )
                valid = parsed.valid.copy()
                for i in bad_utf8:
                    valid[i] = False
                if problems:
                    reject_rows += _reject_records(batch, chunk, problems, bad_utf8, source)
                result.rejected += len(problems)
                good = batch.filter(pa.array(valid)) if not valid.all() else batch
                rgb = parsed.rgb[valid]
                p_black = scorer.p_black(rgb, parsed.on_grid)
                scored = pa.RecordBatch.from_arrays(
                    [*good.columns, *score_columns(rgb, p_black, scorer.version)],
                    names=[*good.schema.names, *OUTPUT_COLUMNS],
                )
                if writer is None:
                    writer = _open_writer(staging_out, out_format, scored.schema, final=only_part)
                writer.write(scored) if out_format == "csv" else writer.write_batch(scored)
                result.scored += scored.num_rows
                result.black += int(np.count_nonzero(p_black > 0.5))
                result.aa += int(pc.sum(scored.column(WCAG_AA)).as_py() or 0)
                if progress is not None:
                    progress(batch.num_rows + len(chunk.malformed))
            if writer is None:  # nothing valid at all: still a well-formed (empty) part
                staging_out.write_bytes(b"")
        finally:
            if writer is not None:
                writer.close()
    with atomic_file(rejects_path) as staging_rejects:
        _write_rejects(staging_rejects, reject_rows, names)
    with atomic_file(marker) as staging_marker:
        staging_marker.write_text(json.dumps(asdict(result)))
    return result


def _open_writer(path: Path, out_format: str, schema: pa.Schema, final: bool) -> Any:
    if final and out_format == "csv":
        # The only part: the output's rows as they are; assembly adds the header.
        return pacsv.CSVWriter(
            str(path), schema, write_options=pacsv.WriteOptions(include_header=False)
        )
    if final:
        return pq.ParquetWriter(str(path), schema, **parquet_output_options(schema))
    # One of several parts: Arrow IPC costs about a memory copy to write and is read back
    # zero-copy, so formatting the output (Parquet encoding, CSV text) happens once, on the
    # assembler's core, while this one scores the next part.
    return pa.ipc.new_file(str(path), schema)


def parquet_output_options(schema: pa.Schema) -> dict[str, Any]:
    """Dictionary pages and statistics only where they pay: the input columns and the two
    dictionary columns. Trying to dictionary-encode random floats costs a third of the write."""
    inputs = [n for n in schema.names if n not in OUTPUT_COLUMNS]
    return {
        "compression": "snappy",
        "use_dictionary": [*inputs, TEXT_COLOR, MODEL_VERSION],
        "write_statistics": inputs,
    }


def _reject_records(
    batch: pa.RecordBatch,
    chunk: _Chunk,
    problems: list[tuple[int, str, str, str]],
    bad_utf8: dict[int, str],
    source: str,
) -> list[dict[str, str]]:
    position = {int(r): i for i, r in enumerate(chunk.rows)}
    records = []
    seen: set[int] = set()
    for row, column, value, reason in sorted(problems):
        if row in seen:
            continue  # one line per row: its first problem
        seen.add(row)
        record = {
            "source_file": source,
            "row": str(row),
            "column": column,
            "value": value,
            "reason": reason,
        }
        i = position.get(row)
        if i is not None:
            for name, array in zip(batch.schema.names, batch.columns, strict=True):
                if i in bad_utf8:
                    raw = array.cast(pa.binary())[i].as_py() or b""
                    record[name] = raw.decode("utf-8", errors="replace")
                else:
                    item = array[i].as_py()
                    record[name] = "" if item is None else str(item)
        records.append(record)
    return records


def _write_rejects(path: Path, records: list[dict[str, str]], names: list[str]) -> None:
    columns = list(REJECT_COLUMNS) + [n for n in names if n not in REJECT_COLUMNS]
    table = pa.table(
        {c: pa.array([r.get(c, "") for r in records], type=pa.string()) for c in columns}
    )
    pacsv.write_csv(table, str(path), write_options=pacsv.WriteOptions(include_header=False))


# ---------------------------------------------------------------------------------------------
# The job


@dataclass(frozen=True)
class ScoreJob:
    files: list[Path]
    out: Path
    version_path: Path
    version: str
    names: list[str]
    spec: ColorSpec
    parts: list[Part]
    parts_dir: Path
    out_format: str
    config: ScoreConfig

    @property
    def rejects_path(self) -> Path:
        return self.out.with_name(self.out.name + ".rejects.csv")

    @property
    def known_rows(self) -> int | None:
        rows = [p.rows for p in self.parts]
        return None if any(r is None for r in rows) else sum(r or 0 for r in rows)


def prepare_job(inputs: list[str], out: Path, version_path: Path, config: ScoreConfig) -> ScoreJob:
    """Check everything that can be checked before work starts, and plan (or recover) the parts."""
    from fontpipe.registry import verify_version

    files = expand_inputs(inputs)
    check_output(files, out)
    version = str(verify_version(version_path)["version"])
    names = file_columns(files[0])
    for file in files[1:]:
        other = file_columns(file)
        if other != names:
            raise FontpipeError(
                f"{file}: columns {other} differ from {files[0]}'s {names}; score them separately"
            )
    spec = detect_color_spec(names, config.color_column, config.rgb_columns)
    parts = plan_parts(files, config)
    parts_dir = parts_dir_for(out)
    fingerprint = job_fingerprint(files, out, version, config)
    job_file = parts_dir / "job.json"
    if parts_dir.exists():
        try:
            previous = json.loads(job_file.read_text())["fingerprint"]
        except (OSError, ValueError, KeyError):
            previous = None
        if previous != fingerprint:
            shutil.rmtree(parts_dir)  # another job's leftovers: inputs, model or options changed
    parts_dir.mkdir(parents=True, exist_ok=True)
    if not job_file.exists():
        with atomic_file(job_file) as staging:
            staging.write_text(
                json.dumps(
                    {"format": PARTS_FORMAT, "fingerprint": fingerprint, "parts": len(parts)}
                )
            )
    return ScoreJob(
        files, out, version_path, version, names, spec, parts, parts_dir, output_format(out), config
    )


def finished_parts(job: ScoreJob) -> set[int]:
    return {
        p.index
        for p in job.parts
        if _part_paths(job.parts_dir, p.index, job.out_format)[2].exists()
    }


class OutputAssembler:
    """Appends finished parts, strictly in part order, to the staged output file.

    Local runs feed it from a second thread while the next part is scored, so the extra pass over
    the data overlaps with scoring instead of following it; `finish` renames the result into place.
    """

    def __init__(self, job: ScoreJob) -> None:
        from fontpipe.atomic import staging_path

        self.job = job
        self.staging = staging_path(job.out)
        self.next_index = 0
        self._writer: Any = None
        self._csv: Any = None

    def append_ready(self, finished: set[int]) -> None:
        while (
            self.next_index < len(self.job.parts)
            and self.job.parts[self.next_index].index in finished
        ):
            self._append(self.job.parts[self.next_index])
            self.next_index += 1

    def _append(self, part: Part) -> None:
        piece = _part_paths(self.job.parts_dir, part.index, self.job.out_format)[0]
        only_part = len(self.job.parts) == 1
        if self.job.out_format == "csv":
            if self._csv is None:
                self._csv = self.staging.open("wb")
                columns = [*self.job.names, *OUTPUT_COLUMNS]
                self._csv.write((",".join(_csv_quote(c) for c in columns) + "\n").encode())
            if only_part:
                with piece.open("rb") as source:
                    shutil.copyfileobj(source, self._csv, 4 << 20)
            elif piece.stat().st_size:
                with pa.memory_map(str(piece)) as source:
                    table = pa.ipc.open_file(source).read_all()
                self._csv.flush()
                pacsv.write_csv(
                    table, self._csv, write_options=pacsv.WriteOptions(include_header=False)
                )
            return
        if not piece.stat().st_size:
            return
        if len(self.job.parts) == 1:
            os.replace(piece, self.staging)  # one part is already the whole output
            self._writer = "moved"
            return
        with pa.memory_map(str(piece)) as source:
            table = pa.ipc.open_file(source).read_all()  # zero-copy over the mapped file
            if self._writer is None:
                self._writer = pq.ParquetWriter(
                    str(self.staging), table.schema, **parquet_output_options(table.schema)
                )
            self._writer.write_table(table)

    def finish(self) -> None:
        if self._csv is not None:
            self._csv.close()
        elif self.job.out_format == "csv":
            self.staging.write_text(
                ",".join(_csv_quote(c) for c in [*self.job.names, *OUTPUT_COLUMNS]) + "\n"
            )
        elif self._writer is None:
            schema = pa.schema([(n, pa.string()) for n in self.job.names] + list(OUTPUT_FIELDS))
            pq.write_table(schema.empty_table(), str(self.staging))
        elif self._writer != "moved":
            self._writer.close()
        os.replace(self.staging, self.job.out)

    def abandon(self) -> None:
        if self._csv is not None:
            self._csv.close()
        if self._writer not in (None, "moved"):
            self._writer.close()
        self.staging.unlink(missing_ok=True)


def assemble(
    job: ScoreJob,
    results: list[PartResult],
    seconds: float,
    reused: int,
    assembler: OutputAssembler | None = None,
) -> ScoreSummary:
    """Finish the output (appending any parts not yet appended), write the rejects file, clean up."""
    results = sorted(results, key=lambda r: r.index)
    assembler = assembler or OutputAssembler(job)
    try:
        assembler.append_ready({p.index for p in job.parts})
        assembler.finish()
    except BaseException:
        assembler.abandon()
        raise
    rejected = sum(r.rejected for r in results)
    rejects: Path | None = None
    if rejected:
        rejects = job.rejects_path
        with atomic_file(rejects) as staging, staging.open("wb") as handle:
            columns = list(REJECT_COLUMNS) + [n for n in job.names if n not in REJECT_COLUMNS]
            handle.write((",".join(_csv_quote(c) for c in columns) + "\n").encode())
            for part in job.parts:
                with _part_paths(job.parts_dir, part.index, job.out_format)[1].open("rb") as piece:
                    shutil.copyfileobj(piece, handle, 1 << 20)
    elif job.rejects_path.exists():
        job.rejects_path.unlink()  # a stale rejects file from an earlier run would mislead
    shutil.rmtree(job.parts_dir, ignore_errors=True)
    read = sum(r.read for r in results)
    scored = sum(r.scored for r in results)
    return ScoreSummary(
        output=str(job.out),
        rejects=str(rejects) if rejects else None,
        read=read,
        scored=scored,
        rejected=rejected,
        black_share=sum(r.black for r in results) / scored if scored else 0.0,
        aa_share=sum(r.aa for r in results) / scored if scored else 0.0,
        seconds=seconds,
        parts=len(job.parts),
        parts_reused=reused,
        model_version=job.version,
    )


def _csv_quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n\r') else text


def score_files(
    inputs: list[str],
    out: Path,
    version_path: Path,
    config: ScoreConfig,
    *,
    progress: Callable[[int], None] | None = None,
    on_plan: Callable[[ScoreJob, set[int]], None] | None = None,
) -> ScoreSummary:
    """Score every part in this process (skipping finished ones), then assemble."""
    started = time.perf_counter()
    job = prepare_job(inputs, out, version_path, config)
    done = finished_parts(job)
    if on_plan is not None:
        on_plan(job, done)
    from concurrent.futures import ThreadPoolExecutor

    assembler = OutputAssembler(job)
    results: list[PartResult] = []
    finished: set[int] = set()
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fontpipe-assemble") as pool:
            appending = None
            for part in job.parts:
                results.append(run_part(job, part, progress if part.index not in done else None))
                finished.add(part.index)
                if appending is not None:
                    appending.result()
                appending = pool.submit(assembler.append_ready, set(finished))
            if appending is not None:
                appending.result()
    except FontpipeError:
        assembler.abandon()
        shutil.rmtree(
            job.parts_dir, ignore_errors=True
        )  # bad data: rerunning would fail the same way
        raise
    except BaseException:
        assembler.abandon()  # finished parts stay for the next run to reuse
        raise
    return assemble(job, results, time.perf_counter() - started, len(done), assembler)
