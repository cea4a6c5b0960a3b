"""The rows a stylesheet, a design tokens file or an audit page is made from: one compact record
per scored row, written by each part beside its output (`PartPaths.view`) and read back, in part
order, once the job is done.

A view holds what those outputs name and show, whatever the input's shape: the row's token or
name, its context (a stylesheet's selector and at-rules, a token's JSON Pointer, or a `theme`
column), the colour as written and as scored, and the scores. Its source file is the part's.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from fontpipe.arrays import from_numpy
from fontpipe.schema import (
    APCA_LC_BLACK,
    APCA_LC_WHITE,
    CONTRAST_BLACK,
    CONTRAST_WHITE,
    P_BLACK,
    SRGB_HEX,
    TEXT_COLOR,
)
from fontpipe.scoring.columns import srgb_hex_column

# Input columns a view takes its names and contexts from (matched without regard to case).
TOKEN_COLUMN: Final = "token"  # a stylesheet's property or a design token's dotted path
NAME_COLUMN: Final = "name"
CONTEXT_COLUMN: Final = "context"  # a stylesheet's selector and at-rules, a token's JSON Pointer
THEME_COLUMN: Final = "theme"  # a theme's name (`dark`), for palettes that have no context

VIEW_SCHEMA: Final = pa.schema(
    [
        ("row", pa.int64()),  # 1-based data row in its source file
        ("token", pa.string()),
        ("name", pa.string()),
        ("context", pa.string()),
        ("theme", pa.string()),
        ("color", pa.string()),  # as written (null for channel columns)
        ("hex", pa.string()),  # the sRGB colour scored, #rrggbb
        (P_BLACK, pa.float32()),
        ("black", pa.bool_()),
        (CONTRAST_BLACK, pa.float32()),
        (CONTRAST_WHITE, pa.float32()),
        (APCA_LC_BLACK, pa.float32()),
        (APCA_LC_WHITE, pa.float32()),
    ]
)


def named_column(names: Sequence[str], wanted: str) -> str | None:
    """The input column named `wanted`, in any case (the exact spelling first)."""
    if wanted in names:
        return wanted
    return next((n for n in names if n.lower() == wanted), None)


def view_batch(
    scored: pa.RecordBatch,
    rows: npt.NDArray[np.int64],
    rgb: npt.NDArray[Any],
    color_column: str | None,
) -> pa.RecordBatch:
    """The view of scored rows: `scored` holds the valid input rows with the output columns,
    `rows` their data-row numbers, `rgb` their colours as scored."""
    names = scored.schema.names

    def text(wanted: str) -> pa.Array:
        found = named_column(names, wanted)
        if found is None:
            return pa.nulls(scored.num_rows, pa.string())
        return _as_text(scored.column(names.index(found)))

    if SRGB_HEX in names:
        hex_column = scored.column(names.index(SRGB_HEX))
    else:
        channels = np.clip(np.rint(np.asarray(rgb, dtype=np.float64)), 0, 255).astype(np.uint8)
        hex_column = srgb_hex_column(channels)
    written = (
        _as_text(scored.column(names.index(color_column)))
        if color_column is not None
        else pa.nulls(scored.num_rows, pa.string())
    )
    black = pc.equal(scored.column(names.index(TEXT_COLOR)).cast(pa.string()), "black")
    columns = [
        from_numpy(np.asarray(rows, dtype=np.int64)),
        text(TOKEN_COLUMN),
        text(NAME_COLUMN),
        text(CONTEXT_COLUMN),
        text(THEME_COLUMN),
        written,
        hex_column,
        scored.column(names.index(P_BLACK)),
        black,
        scored.column(names.index(CONTRAST_BLACK)),
        scored.column(names.index(CONTRAST_WHITE)),
        scored.column(names.index(APCA_LC_BLACK)),
        scored.column(names.index(APCA_LC_WHITE)),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=VIEW_SCHEMA)


def _as_text(column: pa.Array) -> pa.Array:
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    if pa.types.is_string(column.type):
        return column
    if pa.types.is_large_string(column.type):
        return column.cast(pa.string())
    return pa.array([None if v is None else str(v) for v in column.to_pylist()], pa.string())


class ViewWriter:
    """A part's view, an Arrow IPC file; an empty one when the part scored nothing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: Any = None

    def write(self, batch: pa.RecordBatch) -> None:
        if self._writer is None:
            self._writer = pa.ipc.new_file(str(self.path), VIEW_SCHEMA)
        self._writer.write_batch(batch)

    def close(self) -> None:
        if self._writer is None:
            self._writer = pa.ipc.new_file(str(self.path), VIEW_SCHEMA)
        self._writer.close()


def read_view_files(files: Sequence[tuple[str, Path]]) -> pa.Table:
    """The views of a job's parts, in order, each row with its `source` file."""
    tables = []
    for source, path in files:
        with pa.OSFile(str(path)) as handle:
            table = pa.ipc.open_file(handle).read_all()
        tables.append(table.append_column("source", pa.array([source] * table.num_rows)))
    if not tables:
        # Not Schema.empty_table(): that imports pandas, a quarter second of every job's start.
        return pa.Table.from_batches([], VIEW_SCHEMA.append(pa.field("source", pa.string())))
    return pa.concat_tables(tables)
