"""Planning a score job: which files, which columns, and the parts they are cut into.

A job is cut into parts: groups of Parquet row groups, or CSV byte ranges that start on a record
boundary. `ScoreJob` also owns the job's layout on disk (a hidden parts directory beside the
output holding `job.json` and, per part, its output, its rejects and a JSON commit marker).
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from fontpipe.errors import FontpipeError
from fontpipe.scoring.parse import ColorSpec, Scale

PARTS_FORMAT = "fontpipe-score-parts/1"
JOB_FILE = "job.json"


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


@dataclass(frozen=True)
class PartPaths:
    output: Path  # the part's scored rows (Arrow IPC, or the final format for a one-part job)
    rejects: Path  # the part's rejected rows, CSV without a header
    marker: Path  # written last: the part is finished


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
    created_dir: Path | None = None  # made for the output by this job; removed if it fails

    def part_paths(self, index: int) -> PartPaths:
        stem = self.parts_dir / f"part-{index:06d}"
        return PartPaths(
            output=stem.with_suffix(f".{self.out_format}"),
            rejects=Path(f"{stem}.rejects.csv"),
            marker=stem.with_suffix(".json"),
        )

    @property
    def job_file(self) -> Path:
        return self.parts_dir / JOB_FILE

    @property
    def rejects_path(self) -> Path:
        return self.out.with_name(self.out.name + ".rejects.csv")

    @property
    def known_rows(self) -> int | None:
        rows = [p.rows for p in self.parts]
        return None if any(r is None for r in rows) else sum(r or 0 for r in rows)


def parts_dir_for(out: Path) -> Path:
    return out.parent / f".{out.name}.parts"


def file_format(path: Path) -> Literal["parquet", "csv"] | None:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix == ".csv":
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


def check_output(files: list[Path], out: Path) -> Path | None:
    """Refuse an output path that cannot work; returns the outermost directory created for it
    (removed again if the job fails on bad input), or None."""
    output_format(out)
    resolved = out.resolve()
    for file in files:
        if file.resolve() == resolved:
            raise FontpipeError(f"{out}: the output path is also an input; choose another --out")
    if out.exists() and out.is_dir():
        raise FontpipeError(f"{out}: is a directory; --out names the output file")
    missing = [p for p in (out.parent, *out.parent.parents) if not p.exists()]
    created = missing[-1] if missing else None
    if missing:
        try:
            out.parent.mkdir(parents=True)
        except OSError as exc:
            raise FontpipeError(
                f"{out}: cannot create the output directory ({exc.strerror})"
            ) from None
    if not os.access(out.parent, os.W_OK):
        raise FontpipeError(f"{out}: cannot write in {out.parent}")
    return created


def csv_header(path: Path) -> list[str]:
    """Column names from the first line alone, so a bad row further down cannot hide the header."""
    import csv
    import io

    try:
        with path.open("rb") as handle:
            first = handle.readline(1 << 20)
        if b"\r" in first.rstrip(b"\r\n"):
            raise FontpipeError(
                f"{path}: lines end with a carriage return alone (CR, old Mac style); "
                "save the file with LF or CRLF line endings"
            )
        names = next(csv.reader(io.StringIO(first.decode("utf-8-sig"))), [])
    except UnicodeDecodeError:
        raise FontpipeError(f"{path}: the header line is not UTF-8") from None
    except OSError as exc:
        raise FontpipeError(f"{path}: unreadable CSV ({exc.strerror})") from None
    names = [n.strip() for n in names]
    if not names or not any(names):
        raise FontpipeError(f"{path}: no header line; the first line must name the columns")
    return names


def file_schema(path: Path) -> pa.Schema:
    """The columns a file yields: a CSV's are all text (values pass through unchanged)."""
    if input_kind(path) == "csv":
        schema = pa.schema([(name, pa.string()) for name in csv_header(path)])
    else:
        try:
            schema = pq.read_schema(path).remove_metadata()
        except (pa.ArrowInvalid, OSError) as exc:
            raise FontpipeError(f"{path}: unreadable Parquet file ({exc})") from None
    seen: set[str] = set()
    for name in schema.names:
        if name in seen:
            raise FontpipeError(f"{path}: column {name!r} appears twice in the header")
        seen.add(name)
    return schema


def file_columns(path: Path) -> list[str]:
    return list(file_schema(path).names)


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
