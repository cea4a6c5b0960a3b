"""Scoring one part of a job into its own files, committed by a marker written last."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from fontpipe.arrays import from_numpy, to_numpy
from fontpipe.atomic import atomic_file
from fontpipe.color.apca import LARGE_TEXT_LC
from fontpipe.errors import FontpipeError
from fontpipe.palettes.named import skipped_entries
from fontpipe.palettes.parse import parse_colors
from fontpipe.schema import (
    APCA_LC_BLACK,
    APCA_LC_WHITE,
    CONTRAST_BLACK,
    CONTRAST_WHITE,
    MODEL_VERSION,
    OTHER_PASSES_AA,
    TEXT_COLOR,
    WCAG_AA,
    black_text,
)
from fontpipe.scoring import remote
from fontpipe.scoring.columns import (
    CSV_WRITE_OPTIONS,
    OUTPUT_COLUMNS,
    TEXT_OUTPUT_COLUMNS,
    Scorer,
    csv_ready,
    job_scorer,
    score_columns,
    text_output_columns,
)
from fontpipe.scoring.plan import Part, ScoreJob
from fontpipe.scoring.read import Chunk, invalid_utf8_rows, iter_part_chunks
from fontpipe.scoring.view import ViewWriter, view_batch

REJECT_COLUMNS = ("source_file", "row", "column", "value", "reason")


@dataclass
class PartResult:
    index: int
    read: int = 0
    scored: int = 0
    rejected: int = 0
    black: int = 0
    aa: int = 0
    other_passes_aa: int = 0  # the chosen text fails AA where the other colour would pass
    gamut_mapped: int = 0  # CSS colours outside sRGB, mapped into it
    translucent: int = 0  # CSS colours with alpha, composited over the backdrop
    skipped: int = 0  # stylesheet or token entries that are not colours (custom properties)
    differs_from_wcag: int = 0  # the text differs from the WCAG (contrast-color()) choice
    no_lc_60: int = 0  # neither black nor white text reaches APCA |Lc| 60


def run_part(
    job: ScoreJob, part: Part, progress: Callable[[int], None] | None = None
) -> PartResult:
    """Score one part into its own output and rejects files, then write its commit marker."""
    paths = job.part_paths(part.index)
    if job.publish_url is not None:
        committed = remote.committed_result(job.publish_url, part.index, job.fingerprint)
        if committed is not None:
            return PartResult(**committed)
    elif part_finished(job, part):
        return PartResult(**json.loads(paths.marker.read_text()))
    try:
        result = _run_part(job, part, progress, tolerant=False)
    except pa.ArrowInvalid:
        if part.kind != "csv":
            raise
        # Arrow's parser gave up on the part as a whole (binary bytes, a line longer than its
        # block). Read it again line by line, so bad lines become rejects with a reason.
        result = _run_part(job, part, progress, tolerant=True)
    except FontpipeError as exc:
        if part.file in str(exc):
            raise
        raise FontpipeError(f"{part.file}: {exc}") from None
    if job.publish_url is not None:
        remote.publish_part(
            job.publish_url,
            part.index,
            paths.output,
            paths.rejects,
            asdict(result),
            job.fingerprint,
        )
        paths.marker.unlink(missing_ok=True)
    return result


def part_finished(job: ScoreJob, part: Part) -> bool:
    """Committed and still whole: its marker and its output are both there (assembly moves the
    first part's output into the staging file; after a crash there, the part is scored again)."""
    paths = job.part_paths(part.index)
    viewed = paths.view.exists() or not job.wants_view
    return paths.marker.exists() and paths.output.exists() and viewed


def _run_part(
    job: ScoreJob, part: Part, progress: Callable[[int], None] | None, *, tolerant: bool
) -> PartResult:
    paths = job.part_paths(part.index)
    # A worker on another machine has no parts directory yet (outputs on a store).
    paths.output.parent.mkdir(parents=True, exist_ok=True)
    scorer = job_scorer(job.version_path, job.model)
    result = PartResult(index=part.index)
    reject_rows: list[dict[str, str]] = []
    with contextlib.ExitStack() as files:
        # A stylesheet or tokens output needs only the view: it is then the part's output.
        staging_out = None if job.design else files.enter_context(atomic_file(paths.output))
        staging_view = files.enter_context(atomic_file(paths.view)) if job.wants_view else None
        writer: Any = None
        view = ViewWriter(staging_view) if staging_view is not None else None
        try:
            for chunk in iter_part_chunks(part, job.names, job.config, tolerant=tolerant):
                scored = _score_chunk(job, part, chunk, scorer, result, reject_rows, view)
                if scored is None:
                    continue
                if staging_out is not None:
                    if job.out_format == "csv":
                        scored = csv_ready(scored)  # on this part's core, not the assembler's
                    if writer is None:
                        writer = _open_writer(staging_out, job, part, scored.schema)
                    writer.write_batch(scored)
                if progress is not None:
                    progress(chunk.batch.num_rows + len(chunk.malformed))
            if writer is None and staging_out is not None:
                # Nothing valid at all: still a well-formed (empty) part.
                first_csv = job.out_format == "csv" and part.index == job.parts[0].index
                staging_out.write_bytes(csv_header(job) if first_csv else b"")
        finally:
            if writer is not None:
                writer.close()
            if view is not None:
                view.close()
    with atomic_file(paths.rejects) as staging_rejects:
        _write_rejects(staging_rejects, reject_rows, job.names)
    with atomic_file(paths.marker) as staging_marker:
        staging_marker.write_text(json.dumps(asdict(result)))
    return result


def _score_chunk(
    job: ScoreJob,
    part: Part,
    chunk: Chunk,
    scorer: Scorer,
    result: PartResult,
    reject_rows: list[dict[str, str]],
    view: ViewWriter | None = None,
) -> pa.RecordBatch | None:
    """The chunk's valid rows with the output columns (None when it holds only malformed rows);
    bad rows are counted and set aside in `reject_rows`, or stop the job in fail mode. Their
    view goes to `view`, when the job wants one."""
    batch, config = chunk.batch, job.config
    result.read += batch.num_rows + len(chunk.malformed)
    result.skipped += skipped_entries(batch.schema)
    bad_utf8 = invalid_utf8_rows(batch) if part.kind == "csv" else {}
    if not batch.num_rows:
        _set_aside(job, part, chunk, [], bad_utf8, reject_rows, result)
        return None
    # Rows that are not UTF-8 are rejected whatever their colour says; the parser, which reads
    # its columns as text, is handed them blanked.
    parsed = parse_colors(
        _blanked(batch, list(bad_utf8)) if bad_utf8 else batch,
        job.spec,
        config.scale,
        job.backdrop,
    )
    reasons = [(i, c, v, r) for i, c, v, r in parsed.reasons if i not in bad_utf8]
    _set_aside(job, part, chunk, reasons, bad_utf8, reject_rows, result)
    valid = parsed.valid.copy()
    valid[list(bad_utf8)] = False
    all_valid = bool(valid.all())
    good = batch if all_valid else batch.filter(from_numpy(valid))
    rgb = parsed.rgb if all_valid else parsed.rgb[valid]  # no masked copy of every row
    p_black = scorer.p_black(rgb, parsed.on_grid)
    color_column = good.column(job.spec.color_column) if job.spec.color_column else None
    text_columns = text_output_columns(parsed, valid, rgb, color_column)
    if parsed.gamut_mapped is not None and parsed.translucent is not None:
        result.gamut_mapped += int(np.count_nonzero(parsed.gamut_mapped[valid]))
        result.translucent += int(np.count_nonzero(parsed.translucent[valid]))
    scored = pa.RecordBatch.from_arrays(
        [*good.columns, *score_columns(rgb, p_black, job.version), *text_columns],
        names=[*good.schema.names, *job.output_columns],
    )
    result.scored += scored.num_rows
    if view is not None:
        rows = chunk.rows if all_valid else chunk.rows[valid]
        view.write(view_batch(scored, rows, rgb, job.spec.color_column))
    result.black += int(np.count_nonzero(black_text(p_black)))
    result.aa += int(pc.sum(scored.column(WCAG_AA)).as_py() or 0)
    result.other_passes_aa += int(pc.sum(scored.column(OTHER_PASSES_AA)).as_py() or 0)
    _count_readability(scored, black_text(p_black), result)
    return scored


def _count_readability(
    scored: pa.RecordBatch, black: npt.NDArray[np.bool_], result: PartResult
) -> None:
    """Rows whose answer differs from the browser's (WCAG: black where black's contrast is the
    higher), and rows where neither text colour reaches APCA |Lc| 60 (no comfortable answer)."""
    names = scored.schema.names
    on_black = to_numpy(scored.column(names.index(CONTRAST_BLACK)))
    on_white = to_numpy(scored.column(names.index(CONTRAST_WHITE)))
    result.differs_from_wcag += int(np.count_nonzero(black != (on_black > on_white)))
    lc_black = np.abs(to_numpy(scored.column(names.index(APCA_LC_BLACK))))
    lc_white = np.abs(to_numpy(scored.column(names.index(APCA_LC_WHITE))))
    large = np.float32(LARGE_TEXT_LC)
    result.no_lc_60 += int(np.count_nonzero((lc_black < large) & (lc_white < large)))


def _set_aside(
    job: ScoreJob,
    part: Part,
    chunk: Chunk,
    reasons: list[tuple[int, str, str, str]],
    bad_utf8: dict[int, str],
    reject_rows: list[dict[str, str]],
    result: PartResult,
) -> None:
    """The chunk's bad rows (`reasons` by index in the batch, rows that are not UTF-8, malformed
    records) into `reject_rows`, or, in fail mode, the earliest of them as the job's error."""
    batch = chunk.batch
    problems = [
        (int(chunk.rows[i]), column, _raw_text(batch.column(column), i), "invalid UTF-8")
        for i, column in bad_utf8.items()
    ]
    problems += [(int(chunk.rows[i]), column, value, why) for i, column, value, why in reasons]
    problems += [(row, "", text, why) for row, text, why in chunk.malformed]
    if not problems:
        return
    if job.config.on_error == "fail":
        row, column, value, reason = min(problems)
        where = f", column {column!r}" if column else ""
        raise FontpipeError(
            f"{part.file}: row {row}{where}: {reason} (value {_quoted_value(value)}); nothing "
            "was written. Use --on-error quarantine to set bad rows aside"
        )
    reject_rows += _reject_records(batch, chunk, problems, bad_utf8, part.file)
    result.rejected += len(problems)


def _blanked(batch: pa.RecordBatch, rows: list[int]) -> pa.RecordBatch:
    """The batch with every text value of `rows` made empty (valid UTF-8 for the parser)."""
    mask = np.zeros(batch.num_rows, dtype=bool)
    mask[rows] = True
    blank = pa.scalar(b"", pa.binary())
    columns = [
        pc.if_else(from_numpy(mask), blank, column.cast(pa.binary())).cast(pa.string())
        if pa.types.is_string(column.type)
        else column
        for column in batch.columns
    ]
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _raw_text(column: pa.Array, i: int) -> str:
    """A value as it was read, its bytes kept: what is not UTF-8 is held as surrogates, which the
    rejects file writes back as those bytes."""
    if not pa.types.is_string(column.type):
        item = column[i].as_py()
        return "" if item is None else str(item)
    raw: bytes = column.cast(pa.binary())[i].as_py() or b""
    return raw.decode("utf-8", "surrogateescape")


def _raw_bytes(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate from a JSON escape, not from our decoding
        return text.encode("utf-8", "backslashreplace")


def _quoted_value(value: str) -> str:
    """A value for a one-line error: as Python quotes it, and as bytes when it is not UTF-8."""
    raw = _raw_bytes(value)
    try:
        return repr(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return repr(raw)


def _open_writer(path: Path, job: ScoreJob, part: Part, schema: pa.Schema) -> Any:
    if job.out_format == "csv":
        # The part's rows as CSV text, formatted here on the part's own core (formatting is
        # the costliest step of a CSV job); the first part starts with the output's header, so
        # assembly only moves and appends bytes.
        return _CsvPartWriter(
            path, csv_header(job) if part.index == job.parts[0].index else b"", schema
        )
    # Final Parquet, encoded here on the part's own core: the whole output, one file of a
    # directory dataset, or a piece that assembly joins to the others by copying its bytes.
    return pq.ParquetWriter(str(path), schema, **parquet_output_options(schema))


class _CsvPartWriter:
    """Arrow's CSV writer after an optional header line; closing it closes the file too."""

    def __init__(self, path: Path, header: bytes, schema: pa.Schema) -> None:
        self._sink = pa.OSFile(str(path), "wb")
        self._sink.write(header)
        self._writer = pacsv.CSVWriter(self._sink, schema, write_options=CSV_WRITE_OPTIONS)

    def write_batch(self, batch: pa.RecordBatch) -> None:
        self._writer.write_batch(batch)

    def close(self) -> None:
        try:
            self._writer.close()
        finally:
            self._sink.close()


def parquet_output_options(schema: pa.Schema) -> dict[str, Any]:
    """Dictionary pages, statistics and compression only where they pay. Trying to
    dictionary-encode random floats costs a third of the write; snappy over the four float
    columns costs another quarter to save 8% of the file."""
    inputs = [n for n in schema.names if n not in OUTPUT_COLUMNS + TEXT_OUTPUT_COLUMNS]
    floats = {
        n
        for n in schema.names
        if n in OUTPUT_COLUMNS and pa.types.is_floating(schema.field(n).type)
    }
    # Min/max statistics on the input columns that readers prune by range: numbers, dates and
    # the like. Text columns are left out: their bounds are by byte order ("100" < "99"), and
    # computing them cost a third of a text column's encoding (the r,g,b of every CSV input).
    ranged = [
        n
        for n in inputs
        if not (pa.types.is_string(t := schema.field(n).type) or pa.types.is_large_string(t))
        and not pa.types.is_binary(t)
    ]
    return {
        "compression": {n: "none" if n in floats else "snappy" for n in schema.names},
        "use_dictionary": [*inputs, TEXT_COLOR, MODEL_VERSION],
        "write_statistics": ranged,
    }


def csv_header(job: ScoreJob) -> bytes:
    """The CSV output's header line: input columns, then the output columns."""
    columns = [*job.names, *job.output_columns]
    return (",".join(csv_quote(c) for c in columns) + "\n").encode()


def csv_quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n\r') else text


def _reject_records(
    batch: pa.RecordBatch,
    chunk: Chunk,
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
                record[name] = _raw_text(array, i)
        records.append(record)
    return records


def _write_rejects(path: Path, records: list[dict[str, str]], names: list[str]) -> None:
    """The rows as CSV lines without a header, every field quoted, each value's own bytes (a
    row that is not UTF-8 is written back as it was read, which Arrow's writer refuses)."""
    columns = list(REJECT_COLUMNS) + [n for n in names if n not in REJECT_COLUMNS]
    with path.open("wb") as handle:
        for record in records:
            fields = (_raw_bytes(record.get(c, "")).replace(b'"', b'""') for c in columns)
            handle.write(b'"' + b'","'.join(fields) + b'"\n')
