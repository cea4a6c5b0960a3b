"""Planning a score job: which files, which columns, and the parts they are cut into.

A job is cut into parts: groups of Parquet row groups, or CSV byte ranges that start on a record
boundary. `ScoreJob` also owns the job's layout on disk (a hidden parts directory beside the
output holding `job.json` and, per part, its output, its rejects and a JSON commit marker).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from fontpipe import storage
from fontpipe.palettes.formats import (
    InputKind,
    csv_columns,
)
from fontpipe.palettes.parse import ColorSpec, Scale
from fontpipe.registry.elsewhere import ModelBundle
from fontpipe.scoring.columns import (
    OUTPUT_COLUMNS,
    OUTPUT_FIELDS,
    TEXT_OUTPUT_COLUMNS,
    TEXT_OUTPUT_FIELDS,
)
from fontpipe.scoring.files import (
    InputFile,
    input_kind,
)

# /2: the 3:1 verdict columns, and per-part views for stylesheet, tokens and audit outputs.
PARTS_FORMAT = "fontpipe-score-parts/2"
JOB_FILE = "job.json"


class ScoreConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    on_error: Literal["fail", "quarantine"] = "fail"
    color_column: str | None = None
    rgb_columns: tuple[str, str, str] | None = None
    scale: Scale | None = None
    # Translucent CSS colours are composited over this (any opaque CSS colour).
    backdrop: str = "white"
    # CSV field separator; None sniffs it from each file's header among , ; tab and |.
    delimiter: str | None = Field(None, min_length=1, max_length=1)
    # Parquet: row groups are grouped up to this many rows: enough parts to keep every core busy
    # to the end of a 10 M-row file (docs/bench.md).
    part_rows: int = Field(1_000_000, gt=0)
    # CSV parts of 16 MiB: small enough that a 100 MB file makes several parts a core, so the
    # assembler's Parquet encoding overlaps with parsing instead of following it (docs/bench.md).
    csv_part_bytes: int = Field(16 << 20, gt=0)
    batch_rows: int = Field(1 << 19, gt=0)  # rows read and scored at a time
    # The output is a directory dataset: one Parquet file per part, `_manifest.json` and a
    # `_SUCCESS` marker written last (`--out DIR/`).
    partitioned: bool = False
    # How a stylesheet output writes each text colour: `#000`/`#fff`, or `black`/`white`.
    value_style: Literal["hex", "keyword"] = "hex"
    # An HTML audit page of the scored rows, written beside the output (a local path).
    report: str | None = None


@dataclass(frozen=True)
class Part:
    index: int
    file: str
    kind: InputKind
    first_row: int  # 0-based data-row number of the part's first row within its file
    rows: int | None  # known for Parquet; None for the text formats
    row_groups: tuple[int, ...] = ()
    byte_start: int = 0
    byte_end: int = 0  # 0 with byte_start 0: the whole file, streamed (compressed CSV)
    delimiter: str = ","
    compression: str | None = None

    @property
    def streamed(self) -> bool:
        """Read front to back as one stream (compressed CSV, or a text file on a store), not as
        a byte range."""
        return self.byte_end == 0 and self.kind in ("csv", "jsonl")


@dataclass(frozen=True)
class PartPaths:
    output: Path  # the part's scored rows (Arrow IPC, or the final format for a one-part job)
    rejects: Path  # the part's rejected rows, CSV without a header
    marker: Path  # written last: the part is finished
    # The part's rows as a stylesheet, tokens file or audit page needs them
    # (fontpipe.scoring.view); for a stylesheet or tokens output, the part's only output.
    view: Path


@dataclass(frozen=True)
class ScoreJob:
    files: list[InputFile]
    out: Path  # the output; for an output on a store, the local file it is assembled in
    # The version's directory here; None in the copy sent to Dask workers, which build the model
    # from `model` alone and never read the client's files.
    version_path: Path | None
    version: str
    names: list[str]
    spec: ColorSpec
    parts: list[Part]
    parts_dir: Path
    out_format: str
    config: ScoreConfig
    created_dir: Path | None = None  # made for the output by this job; removed if it fails
    backdrop: tuple[int, int, int] = (255, 255, 255)  # translucent colours are composited on it
    # The output's URL when it is on a store (`s3://bucket/scored.parquet`, `s3://bucket/out/`);
    # then `out` and `parts_dir` are local working files (see fontpipe.scoring.remote).
    out_url: str | None = None
    # What the job is (inputs as they are now, model, options, output): its parts, markers and
    # `job.json` carry it, so no job ever takes up another's.
    fingerprint: str = ""
    # The model itself, verified by its checksum wherever a part is scored.
    model: ModelBundle | None = None

    def for_workers(self) -> ScoreJob:
        """The job as sent to workers that cannot see this machine's files: the model travels
        as bytes, and no path of the registry does."""
        return replace(self, version_path=None)

    @property
    def output_columns(self) -> tuple[str, ...]:
        """The columns scoring adds after the input's own."""

        return OUTPUT_COLUMNS + (TEXT_OUTPUT_COLUMNS if self.spec.color_column else ())

    @property
    def output_fields(self) -> tuple[Any, ...]:

        return OUTPUT_FIELDS + (TEXT_OUTPUT_FIELDS if self.spec.color_column else ())

    @property
    def design(self) -> bool:
        """The output is a stylesheet or design tokens, made from the parts' views alone."""
        return self.out_format in ("css", "tokens")

    @property
    def wants_view(self) -> bool:
        """Each part writes its view: for a stylesheet, tokens or an audit page."""
        return self.design or self.config.report is not None

    def part_paths(self, index: int) -> PartPaths:
        stem = self.parts_dir / f"part-{index:06d}"
        view = Path(f"{stem}.view.arrow")
        if self.design:
            output = view
        else:
            suffix = ".parquet" if self.out_format == "dataset" else f".{self.out_format}"
            output = stem.with_suffix(suffix)
        return PartPaths(
            output=output,
            rejects=Path(f"{stem}.rejects.csv"),
            marker=stem.with_suffix(".json"),
            view=view,
        )

    @property
    def job_file(self) -> Path:
        return self.parts_dir / JOB_FILE

    @property
    def rejects_path(self) -> Path:
        return self.out.with_name(self.out.name + ".rejects.csv")

    @property
    def rejects_location(self) -> str:
        """Where the rejects file ends up: beside the output, on its store if it is on one."""
        if self.out_url is None:
            return str(self.rejects_path)
        return storage.without_trailing_slash(self.out_url) + ".rejects.csv"

    @property
    def output_location(self) -> str:
        return self.out_url or str(self.out)

    @property
    def publish_url(self) -> str | None:
        """For a partitioned output on a store, its prefix: each part goes there as soon as it
        is scored, committed by its marker (see fontpipe.scoring.remote). Otherwise None."""
        return self.out_url if self.out_format == "dataset" else None

    @property
    def known_rows(self) -> int | None:
        rows = [p.rows for p in self.parts]
        return None if any(r is None for r in rows) else sum(r or 0 for r in rows)


def parts_dir_for(out: Path) -> Path:
    return out.parent / f".{out.name}.parts"


def plan_parts(files: list[InputFile], config: ScoreConfig) -> list[Part]:
    parts: list[Part] = []
    for file in files:
        fmt = input_kind(file)
        if fmt.kind == "parquet":
            parts += _parquet_parts(file, config, len(parts))
        elif not isinstance(file, Path):
            # A text file on a store is one part, streamed: finding record boundaries to cut it
            # at would mean reading it all once before scoring it. Many files still spread over
            # every core and worker; Parquet files are cut at row groups, read by ranged GETs.
            delimiter = csv_columns(file, fmt, config.delimiter)[1] if fmt.kind == "csv" else ","
            parts.append(
                Part(
                    len(parts),
                    file,
                    fmt.kind,
                    0,
                    None,
                    delimiter=delimiter,
                    compression=fmt.compression,
                )
            )
        elif fmt.kind == "csv" and fmt.compression is None:
            delimiter = csv_columns(file, fmt, config.delimiter)[1]
            parts += _line_parts(file, config, len(parts), "csv", delimiter=delimiter)
        elif fmt.kind == "jsonl":
            parts += _line_parts(file, config, len(parts), "jsonl", header=False, quotes=False)
        else:
            # Compressed CSV is streamed whole (no byte offsets into a compressed stream);
            # design tokens and stylesheets are small and read whole.
            delimiter = csv_columns(file, fmt, config.delimiter)[1] if fmt.kind == "csv" else ","
            parts.append(
                Part(
                    len(parts),
                    str(file),
                    fmt.kind,
                    0,
                    None,
                    delimiter=delimiter,
                    compression=fmt.compression,
                )
            )
    return parts


def _parquet_parts(file: InputFile, config: ScoreConfig, start_index: int) -> list[Part]:
    with storage.open_random_access(file) as source:
        meta = pq.read_metadata(source)
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


def _split_points(
    file: Path, header_end: int, part_bytes: int, quotes: bool
) -> tuple[list[int], list[int]]:
    """Byte offsets where parts start (the first right after the header), each about
    `part_bytes` after the one before and right after a record-ending newline, and the number of
    records before each."""
    bounds = [header_end]
    records_before = [0]
    parity = 0
    records = 0
    target = header_end + part_bytes
    block_size = 8 << 20
    with file.open("rb") as handle:
        handle.seek(header_end)
        position = header_end
        while True:
            block = handle.read(block_size)
            if not block:
                break
            if parity == 0 and not (quotes and b'"' in block):
                # No quote open and none in the block (the usual palette): every newline ends a
                # record, found with bytes.find/count (memchr) instead of a parity scan.
                while (offset_in_block := max(target - position, 0)) < len(block):
                    split = block.find(b"\n", offset_in_block)
                    if split < 0:
                        break
                    bounds.append(position + split + 1)
                    records_before.append(records + block.count(b"\n", 0, split + 1))
                    target = position + split + 1 + part_bytes
                records += block.count(b"\n")
                position += len(block)
                continue
            # A newline ends a record when an even number of quotes precedes it: count the
            # quotes before each newline by a binary search over the quotes' positions, which
            # costs far less than a running sum over every byte of the block.
            data = np.frombuffer(block, dtype=np.uint8)
            quote_at = np.flatnonzero(data == 34)
            newline_at = np.flatnonzero(data == 10)
            quotes_before = np.searchsorted(quote_at, newline_at)
            record_ends = newline_at[((quotes_before + parity) & 1) == 0]
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
                target = position + split + 1 + part_bytes
            records += len(record_ends)
            parity = (parity + len(quote_at)) & 1
            position += len(block)
    return bounds, records_before


def _line_parts(
    file: Path,
    config: ScoreConfig,
    start_index: int,
    kind: InputKind,
    *,
    delimiter: str = ",",
    header: bool = True,
    quotes: bool = True,
) -> list[Part]:
    """Byte ranges of about csv_part_bytes that start right after a record-ending newline.

    In CSV a newline ends a record only outside quotes; in RFC 4180 CSV an even count of '"'
    before a position means it is outside quotes (an escaped "" counts twice), so one scan of
    quote parity finds safe split points and counts the records before each. In JSON Lines
    every newline ends a record (a JSON string cannot hold a raw newline), so `quotes` is off.
    """
    size = file.stat().st_size
    header_end = 0
    if header:
        with file.open("rb") as handle:
            header_end = len(handle.readline())
    if size - header_end <= config.csv_part_bytes:
        return [
            Part(
                start_index,
                str(file),
                kind,
                0,
                None,
                byte_start=header_end,
                byte_end=size,
                delimiter=delimiter,
            )
        ]
    bounds, records_before = _split_points(file, header_end, config.csv_part_bytes, quotes)
    if bounds[-1] >= size:
        bounds.pop()
        records_before.pop()
    bounds.append(size)
    return [
        Part(
            start_index + i,
            str(file),
            kind,
            records_before[i],
            None,
            byte_start=bounds[i],
            byte_end=bounds[i + 1],
            delimiter=delimiter,
        )
        for i in range(len(bounds) - 1)
    ]
