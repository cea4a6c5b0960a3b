"""Reading one part of a job as chunks of rows, each row numbered as in its file."""

from __future__ import annotations

import contextlib
import csv
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from fontpipe.errors import FontpipeError
from fontpipe.palettes.formats import read_css_custom_properties, read_design_tokens
from fontpipe.scoring.plan import Part, ScoreConfig
from fontpipe.storage import open_random_access, open_stream


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
class Chunk:
    batch: pa.RecordBatch
    rows: npt.NDArray[np.int64]  # 1-based data-row number in its file, per row
    malformed: list[tuple[int, str, str]] = field(default_factory=list)  # (row, raw text, reason)


# What Arrow's codecs say about a compressed file that is cut short or damaged: a fault of the
# file (named in one line, the job stopped), unlike a store's passing read error (kept to retry).
_DAMAGED_STREAM = re.compile(r"Truncated compressed stream|decompress failed|inflate failed")


def iter_part_chunks(
    part: Part, names: list[str], config: ScoreConfig, *, tolerant: bool = False
) -> Iterator[Chunk]:
    """The part's rows in chunks. `tolerant` reads a CSV part line by line instead of with Arrow's
    parser, for parts that parser refuses as a whole (see `iter_tolerant_csv_chunks`)."""
    try:
        yield from _part_chunks(part, names, config, tolerant)
    except (OSError, pa.ArrowInvalid) as exc:
        if part.compression is None or not _DAMAGED_STREAM.search(str(exc)):
            raise
        # No row number: the codec reads ahead of the parser, so no row marks where it broke.
        raise FontpipeError(
            f"{part.file}: the compressed file is cut short or damaged ({exc}); nothing was written"
        ) from None


def _part_chunks(
    part: Part, names: list[str], config: ScoreConfig, tolerant: bool
) -> Iterator[Chunk]:
    if part.kind == "csv" and tolerant:
        yield from iter_tolerant_csv_chunks(part, names, config)
        return
    if part.kind == "jsonl":
        yield from iter_jsonl_chunks(part, names, config)
        return
    if part.kind in ("tokens", "css"):
        table = (
            read_design_tokens(part.file)
            if part.kind == "tokens"
            else read_css_custom_properties(part.file)
        )
        batches = table.to_batches()
        if not batches:  # every entry was skipped: an empty chunk still carries their count
            batches = [pa.RecordBatch.from_pylist([], schema=table.schema)]
        for batch in batches:
            start = part.first_row + 1
            yield Chunk(batch, np.arange(start, start + batch.num_rows, dtype=np.int64))
        return
    if part.kind == "parquet":
        row = part.first_row
        if not part.row_groups:
            return
        with open_random_access(part.file) as source:
            parquet = pq.ParquetFile(source)
            for batch in parquet.iter_batches(
                batch_size=config.batch_rows, row_groups=list(part.row_groups)
            ):
                yield Chunk(batch, np.arange(row + 1, row + 1 + batch.num_rows, dtype=np.int64))
                row += batch.num_rows
        return
    yield from _iter_csv_chunks(part, names, config)


CSV_BLOCK_BYTES = 8 << 20  # bytes parsed at a time within a part


def _iter_csv_chunks(part: Part, names: list[str], config: ScoreConfig) -> Iterator[Chunk]:
    invalid: list[
        tuple[int, int, str, str]
    ] = []  # (physical line within the range, expected, actual, text)

    def on_invalid_row(row: Any) -> str:
        invalid.append((int(row.number or 0), row.expected_columns, row.actual_columns, row.text))
        return "skip"

    quotes = True
    if part.streamed:
        # The whole file as a stream: decompressed block by block, the header line skipped.
        source: Any = open_stream(part.file, part.compression)
        skip = 1
    else:
        with pa.memory_map(part.file) as mapped:
            data = mapped.read_at(part.byte_end - part.byte_start, part.byte_start)
        if len(data) == 0:
            return
        source, skip = pa.BufferReader(data), 0
        # Without a quote in the range no value can hold a newline, and Arrow's parser runs a
        # quarter faster when it need not track them.
        quotes = bool(np.any(np.frombuffer(data, dtype=np.uint8) == ord('"')))
    with _handler_failures(on_invalid_row) as failures:
        yield from _arrow_csv_chunks(
            part, names, source, skip, on_invalid_row, invalid, failures, quotes
        )


@contextlib.contextmanager
def _handler_failures(handler: Any) -> Iterator[list[BaseException]]:
    """Exceptions raised while Arrow calls `handler`: Arrow reports them as "ignored" on stderr
    (a malformed row that is not UTF-8 cannot even be handed over as text) and would skip the row
    without a word. They are collected instead, so the caller can re-read the part."""
    failures: list[BaseException] = []
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if unraisable.object is handler and unraisable.exc_value is not None:
            failures.append(unraisable.exc_value)
        else:
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield failures
    finally:
        sys.unraisablehook = previous


def _arrow_csv_chunks(
    part: Part,
    names: list[str],
    source: Any,
    skip_rows: int,
    on_invalid_row: Any,
    invalid: list[tuple[int, int, str, str]],
    failures: list[BaseException],
    quotes: bool = True,
) -> Iterator[Chunk]:
    reader = pacsv.open_csv(
        source,
        read_options=pacsv.ReadOptions(
            column_names=names,
            use_threads=False,
            block_size=CSV_BLOCK_BYTES,
            skip_rows=skip_rows,
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=part.delimiter,
            newlines_in_values=quotes,
            invalid_row_handler=on_invalid_row,
        ),
        convert_options=_csv_convert_all_strings(names),
    )
    # Records are numbered in file order; malformed ones are skipped by the reader and reported
    # by their number, which pyarrow counts from the start of what it reads, skipped rows (a
    # streamed file's header) included: `number - 1 - skip_rows` is the record's 0-based index
    # within the part.
    next_record = 0
    for batch in reader:
        if failures:
            raise pa.ArrowInvalid(f"a malformed row could not be reported ({failures[0]})")
        bad_here = [
            (line - 1 - skip_rows, text, f"wrong column count (expected {exp}, got {act})")
            for line, exp, act, text in invalid
        ]
        invalid.clear()
        total = batch.num_rows + len(bad_here)
        positions = np.arange(next_record, next_record + total, dtype=np.int64)
        if bad_here:
            positions = positions[~np.isin(positions, [pos for pos, _, _ in bad_here])]
        rows = part.first_row + 1 + positions[: batch.num_rows]
        malformed = [(part.first_row + 1 + pos, text, why) for pos, text, why in bad_here]
        yield Chunk(batch, rows, malformed)
        next_record += total
    if failures:
        raise pa.ArrowInvalid(f"a malformed row could not be reported ({failures[0]})")
    if invalid:
        yield Chunk(
            pa.RecordBatch.from_pylist([], schema=pa.schema([(n, pa.string()) for n in names])),
            np.zeros(0, np.int64),
            [
                (
                    part.first_row + line - skip_rows,
                    text,
                    f"wrong column count (expected {exp}, got {act})",
                )
                for line, exp, act, text in invalid
            ],
        )


def invalid_utf8_rows(batch: pa.RecordBatch) -> dict[int, str]:
    """Rows with bytes that are not UTF-8 in any text column (CSV is read without the check)."""
    bad: dict[int, str] = {}
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if not pa.types.is_string(column.type):
            continue
        values = column.buffers()[2]
        if values is None or not np.any(np.frombuffer(values, dtype=np.uint8) >= 0x80):
            continue  # ASCII, the usual palette: valid UTF-8 without a full validation pass
        try:
            column.validate(full=True)
        except pa.ArrowInvalid:
            for i, value in enumerate(column.cast(pa.binary()).to_pylist()):
                try:
                    (value or b"").decode("utf-8")
                except UnicodeDecodeError:
                    bad.setdefault(i, name)
    return bad


# A physical line longer than this is rejected whole in the tolerant reader: no colour row comes
# near it, and Arrow's parser cannot hold a row that straddles two of its blocks.
MAX_LINE_BYTES = 1 << 20


class _BadLine(Exception):
    def __init__(self, text: str, reason: str) -> None:
        super().__init__(reason)
        self.text, self.reason = text, reason


def _shown(line: bytes) -> str:
    """A line as text that keeps its bytes: what is not UTF-8 is held as surrogates, which the
    rejects file writes back as the original bytes (never U+FFFD)."""
    return line.decode("utf-8", "surrogateescape")


def _line_chunks(
    part: Part,
    names: list[str],
    config: ScoreConfig,
    fields_of: Callable[[bytes], list[str]],
) -> Iterator[Chunk]:
    """A part read one physical line at a time: `fields_of` turns a line into the row's text
    fields, or raises _BadLine, which makes it a malformed row with its reason."""
    schema = pa.schema([(n, pa.string()) for n in names])
    good: list[list[str]] = []
    good_rows: list[int] = []
    malformed: list[tuple[int, str, str]] = []
    for offset, raw in enumerate(part_lines(part)):
        row = part.first_row + 1 + offset
        try:
            good.append(fields_of(raw[:-1] if raw.endswith(b"\r") else raw))
        except _BadLine as bad:
            malformed.append((row, bad.text, bad.reason))
            continue
        good_rows.append(row)
        if len(good) >= config.batch_rows:
            yield _strings_chunk(good, good_rows, malformed, schema)
            good, good_rows, malformed = [], [], []
    if good or malformed:
        yield _strings_chunk(good, good_rows, malformed, schema)


def iter_tolerant_csv_chunks(part: Part, names: list[str], config: ScoreConfig) -> Iterator[Chunk]:
    """A CSV part read one physical line at a time, for the parts that Arrow's parser gives up on
    as a whole (binary bytes that open a quote never closed, a line longer than its block). Every
    line that is not a well-formed record of the header's width becomes a malformed row with its
    reason, so no row is lost and none stops the job in quarantine mode. Slower than Arrow's
    parser, and only used after it failed on this part; quoted newlines are not supported here.
    """

    def fields_of(line: bytes) -> list[str]:
        if len(line) > MAX_LINE_BYTES:
            limit = f"line longer than {MAX_LINE_BYTES >> 20} MiB ({len(line):,} bytes)"
            raise _BadLine(_shown(line[:80]) + "…", limit)
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            raise _BadLine(_shown(line), "invalid UTF-8") from None
        try:
            fields = next(csv.reader([text], delimiter=part.delimiter, strict=True), [])
        except csv.Error as exc:
            raise _BadLine(text, f"malformed CSV ({exc})") from None
        if len(fields) != len(names):
            wrong = f"wrong column count (expected {len(names)}, got {len(fields)})"
            raise _BadLine(text, wrong)
        return fields

    yield from _line_chunks(part, names, config, fields_of)


def _strings_chunk(
    rows: list[list[str]],
    row_numbers: list[int],
    malformed: list[tuple[int, str, str]],
    schema: pa.Schema,
) -> Chunk:
    columns = [pa.array([r[i] for r in rows], type=pa.string()) for i in range(len(schema))]
    return Chunk(
        pa.RecordBatch.from_arrays(columns, schema=schema),
        np.asarray(row_numbers, dtype=np.int64),
        malformed,
    )


def part_lines(part: Part) -> Iterator[bytes]:
    """The part's physical lines, without their line ends: its byte range, or for a streamed
    part the whole (decompressed) file after a CSV's header, read block by block."""
    if not part.streamed:
        with pa.memory_map(part.file) as source:
            data = bytes(source.read_at(part.byte_end - part.byte_start, part.byte_start))
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        yield from lines
        return
    rest = b""
    header_skipped = part.kind != "csv"  # JSON Lines has no header line
    with open_stream(part.file, part.compression) as stream:
        while block := stream.read(CSV_BLOCK_BYTES):
            lines = (rest + block).split(b"\n")
            rest = lines.pop()
            if not header_skipped and lines:
                lines, header_skipped = lines[1:], True
            yield from lines
    if rest and header_skipped:
        yield rest


def iter_jsonl_chunks(part: Part, names: list[str], config: ScoreConfig) -> Iterator[Chunk]:
    """JSON Lines, one object per line, its values read as text against the first line's keys
    (numbers too: a channel column parses them like CSV text). A line that is not a JSON object
    becomes a malformed row with the reason; a missing key is an empty cell."""

    def fields_of(line: bytes) -> list[str]:
        if not line.strip():
            raise _BadLine("", "empty line")
        try:
            record = json.loads(line)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _BadLine(_shown(line), f"not JSON ({exc})") from None
        if not isinstance(record, dict):
            raise _BadLine(_shown(line), "not a JSON object")
        return [_as_text(record.get(name)) for name in names]

    yield from _line_chunks(part, names, config, fields_of)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value)
