"""Parsing colours out of palette columns, vectorised, with a reason for every value refused.

Shapes understood (detected from column names and values, or named by the caller):
- three channel columns: `r,g,b` or `red,green,blue` (any case), integers 0-255, or floats in
  0-1 or 0-255 (the scale must then be stated);
- one text column of colour strings in the grammar of `fontpipe.color.css` (hex, rgb(), triples).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from fontpipe.arrays import strings, to_numpy
from fontpipe.color.css import RGB, WHITE, parse_color_strings
from fontpipe.errors import FontpipeError

Scale = Literal["255", "1"]
COLOR_NAME_HINTS = ("color", "colour", "hex", "background", "bg", "rgb")
_NUMBER = r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$"

# ASCII hex digit -> value, 255 for anything else.
_NIBBLE = np.full(256, 255, dtype=np.uint8)
for _digit in range(10):
    _NIBBLE[ord("0") + _digit] = _digit
for _digit in range(6):
    _NIBBLE[ord("a") + _digit] = 10 + _digit
    _NIBBLE[ord("A") + _digit] = 10 + _digit


@dataclass(frozen=True)
class ColorSpec:
    """Where the colour is in a table: one text column, or three channel columns."""

    color_column: str | None = None
    rgb_columns: tuple[str, str, str] | None = None


@dataclass
class ParsedColors:
    """Per row: valid or not; for valid rows the colour, uint8 when on the integer grid."""

    valid: npt.NDArray[np.bool_]
    rgb: npt.NDArray[np.float32] | npt.NDArray[np.uint8]  # (n, 3) in 0-255; invalid rows hold zeros
    on_grid: bool  # every valid colour has integer channels: the cube table answers them
    reasons: list[tuple[int, str, str, str]]  # (row index, column, value, reason) for invalid rows
    # For a text column (CSS colours): which rows were mapped into sRGB, which were translucent
    # and composited over the backdrop. None for channel columns, which are sRGB as given.
    gamut_mapped: npt.NDArray[np.bool_] | None = None
    translucent: npt.NDArray[np.bool_] | None = None
    canonical_hex: bool = False  # the text column is all lowercase #rrggbb: it is its srgb_hex
    srgb_hex: pa.Array | None = None  # `#rrggbb` per row, when parsing made it on the way


def detect_color_spec(
    names: list[str],
    color_column: str | None = None,
    rgb_columns: tuple[str, str, str] | None = None,
) -> ColorSpec:
    """Pick the colour column(s) of a schema, or check the ones the user named."""
    if color_column and rgb_columns:
        raise FontpipeError("give either --color-column or --rgb-columns, not both")
    lower = {n.lower(): n for n in names}
    if rgb_columns:
        missing = [c for c in rgb_columns if c not in names and c.lower() not in lower]
        if missing:
            raise FontpipeError(
                f"--rgb-columns: no column {', '.join(missing)} (columns: {', '.join(names)})"
            )
        r, g, b = (c if c in names else lower[c.lower()] for c in rgb_columns)
        return ColorSpec(rgb_columns=(r, g, b))
    if color_column:
        if color_column not in names:
            raise FontpipeError(
                f"--color-column: no column {color_column!r} (columns: {', '.join(names)})"
            )
        return ColorSpec(color_column=color_column)
    for trio in (("r", "g", "b"), ("red", "green", "blue")):
        if all(c in lower for c in trio):
            return ColorSpec(rgb_columns=(lower[trio[0]], lower[trio[1]], lower[trio[2]]))
    hinted = [n for n in names if any(h in n.lower() for h in COLOR_NAME_HINTS)]
    if len(hinted) >= 1:
        return ColorSpec(color_column=hinted[0])
    raise FontpipeError(
        f"no colour column found among {', '.join(names)}: expected r,g,b or red,green,blue columns, "
        "or a hex/rgb() column named like 'color'; name it with --color-column or --rgb-columns"
    )


def parse_colors(
    batch: pa.RecordBatch | pa.Table,
    spec: ColorSpec,
    scale: Scale | None,
    backdrop: RGB = WHITE,
) -> ParsedColors:
    if spec.color_column:
        return _parse_text_column(batch.column(spec.color_column), spec.color_column, backdrop)
    assert spec.rgb_columns is not None
    return _parse_channels([batch.column(c) for c in spec.rgb_columns], spec.rgb_columns, scale)


def _as_strings(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = pc.cast(column, pa.string())
    return column


def _plain_hex(
    text: pa.Array,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.uint8], bool]:
    """Rows that are exactly `#rrggbb` or `rrggbb`, decoded straight from the string buffer.

    The usual palette needs no regular expression at all; anything else (short hex, spaces, CSS,
    errors) is left for the general path. The flag says every value is already the canonical
    lowercase `#rrggbb`, so the column itself can serve as `srgb_hex`.
    """
    n = len(text)
    found = np.zeros(n, dtype=bool)
    rgb = np.zeros((n, 3), dtype=np.uint8)
    if n == 0 or not (pa.types.is_string(text.type)):
        return found, rgb, False
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32)[text.offset : text.offset + n + 1]
    data = (
        np.frombuffer(text.buffers()[2], dtype=np.uint8)
        if text.buffers()[2]
        else np.zeros(0, np.uint8)
    )
    if not text.null_count and offsets[-1] - offsets[0] == 7 * n:
        # Every value is 7 bytes (a CSV of #rrggbb): the buffer is an (n, 7) matrix, decoded
        # without gathering each row's bytes by offset (twice as fast on 10 M rows).
        block = data[offsets[0] : offsets[-1]].reshape(n, 7)
        if np.all(block[:, 0] == ord("#")):
            digits = _NIBBLE[block[:, 1:]]
            found = np.asarray((digits < 16).all(axis=1), dtype=bool)
            rgb = digits[:, 0::2] * np.uint8(16) + digits[:, 1::2]
            rgb[~found] = 0
            upper = (block[:, 1:] >= ord("A")) & (block[:, 1:] <= ord("F"))
            return found, rgb, bool(found.all()) and not upper.any()
    starts = offsets[:-1].astype(np.int64)
    lengths = np.diff(offsets)
    if text.null_count:
        lengths = np.where(to_numpy(text.is_valid()), lengths, 0)
    hashed = lengths == 7
    hashed[hashed] = data[starts[hashed]] == ord("#")
    candidates = np.flatnonzero(hashed | (lengths == 6))
    if not len(candidates):
        return found, rgb, False
    first = starts[candidates] + hashed[candidates]
    digits = _NIBBLE[data[first[:, None] + np.arange(6)]]
    ok = (digits < 16).all(axis=1)
    rows = candidates[ok]
    digits = digits[ok]
    found[rows] = True
    rgb[rows] = digits[:, 0::2] * np.uint8(16) + digits[:, 1::2]
    return found, rgb, False


def _parse_text_column(
    column: pa.Array | pa.ChunkedArray, name: str, backdrop: RGB = WHITE
) -> ParsedColors:
    """Plain hex straight from the string buffer; every other string through the one grammar
    (`fontpipe.color.css.parse_color`), once per distinct value."""
    text = _as_strings(column)
    plain, rgb, canonical = _plain_hex(text)
    valid = plain.copy()
    mapped = np.zeros(len(text), dtype=bool)
    translucent = np.zeros(len(text), dtype=bool)
    reasons: list[tuple[int, str, str, str]] = []
    rest_rows = np.flatnonzero(~plain)
    srgb_hex: pa.Array | None = None
    if len(rest_rows):
        rest = text if len(rest_rows) == len(text) else text.take(pa.array(rest_rows))
        # One hash pass gives both the distinct strings and each row's position among them.
        encoded = pc.dictionary_encode(rest, null_encoding="encode")
        position = to_numpy(encoded.indices)
        values = encoded.dictionary.to_pylist()
        parsed = parse_color_strings(values, backdrop)
        if len(rest_rows) == len(text):
            # No plain hex at all (a CSS palette): srgb_hex per distinct string, then a take.
            distinct_hex = strings(["#{:02x}{:02x}{:02x}".format(*c) for c in parsed.rgb.tolist()])
            srgb_hex = distinct_hex.take(encoded.indices)
        ok = parsed.valid[position]
        valid[rest_rows] = ok
        rgb[rest_rows] = parsed.rgb[position]
        mapped[rest_rows] = parsed.gamut_mapped[position]
        translucent[rest_rows] = parsed.translucent[position]
        for row, at in zip(rest_rows[~ok], position[~ok], strict=True):
            value = values[at]
            reasons.append(
                (int(row), name, "" if value is None else str(value), parsed.reasons[int(at)])
            )
    return ParsedColors(
        valid=valid,
        rgb=rgb,
        on_grid=True,
        reasons=reasons,
        gamut_mapped=mapped,
        translucent=translucent,
        canonical_hex=canonical,
        srgb_hex=srgb_hex,
    )


def _parse_channels(
    columns: list[pa.Array | pa.ChunkedArray], names: tuple[str, ...], scale: Scale | None
) -> ParsedColors:
    arrays = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in columns]
    if all(a.type == pa.uint8() and a.null_count == 0 for a in arrays) and scale != "1":
        # The common case for Parquet palettes: already 8-bit channels, nothing to check.
        rgb = np.stack([to_numpy(a) for a in arrays], axis=1)
        return ParsedColors(valid=np.ones(len(rgb), dtype=bool), rgb=rgb, on_grid=True, reasons=[])
    if scale != "1":
        integers = _whole_byte_channels(arrays)
        if integers is not None:
            return ParsedColors(
                valid=np.ones(len(integers), dtype=bool), rgb=integers, on_grid=True, reasons=[]
            )
    n = len(arrays[0])
    values = np.zeros((n, 3), dtype=np.float64)
    valid = np.ones(n, dtype=bool)
    reasons: list[tuple[int, str, str, str]] = []
    for i, (array, name) in enumerate(zip(arrays, names, strict=True)):
        column_values, column_valid = _channel_values(array, name, reasons, valid)
        valid &= column_valid
        values[:, i] = np.where(valid, column_values, 0.0)
    if scale is None and np.any(valid[:, None] & (values != np.round(values))):
        raise FontpipeError(
            f"columns {','.join(names)} hold fractional values: say whether they run 0-1 or 0-255 with --scale 1 or --scale 255"
        )
    largest = values[valid].max() if valid.any() else 0.0
    if scale is None and 0 < largest <= 1 and _written_as_floats(arrays):
        # 1.0,1.0,1.0 is white on a 0-1 scale and almost black on 0-255: never guess. (All
        # zeros is black on either scale.)
        raise FontpipeError(
            f"columns {','.join(names)} are written as decimals and every value lies in 0-1: "
            "say whether they run 0-1 or 0-255 with --scale 1 or --scale 255"
        )
    scaled = values * (255.0 if scale == "1" else 1.0)
    out_of_range = valid & ((scaled < 0) | (scaled > 255)).any(axis=1)
    limit = "0-1" if scale == "1" else "0-255"
    for row in np.flatnonzero(out_of_range):
        column = int(np.flatnonzero((scaled[row] < 0) | (scaled[row] > 255))[0])
        reasons.append(
            (int(row), names[column], f"{values[row, column]:g}", f"channel out of range {limit}")
        )
    valid &= ~out_of_range
    scaled[~valid] = 0
    on_grid = bool(np.all(scaled == np.round(scaled)))
    reasons.sort()
    rgb = scaled.astype(np.uint8) if on_grid else scaled.astype(np.float32)
    return ParsedColors(valid=valid, rgb=rgb, on_grid=on_grid, reasons=reasons)


def _whole_byte_channels(arrays: list[pa.Array]) -> npt.NDArray[np.uint8] | None:
    """(n, 3) uint8 when every value of every channel is a whole number 0-255 (text or integer
    columns), else None for the general path to find and explain the bad rows.

    Arrow's own string-to-integer cast parses a CSV's channels in C: a regular expression and a
    float cast per value took 4 of a 10 M-row job's 7 CPU seconds."""
    columns = []
    for array in arrays:
        kind = array.type
        if array.null_count or not (
            pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_integer(kind)
        ):
            return None
        try:
            values = to_numpy(pc.cast(array, pa.int32()))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        if len(values) and (values.min() < 0 or values.max() > 255):
            return None
        columns.append(values.astype(np.uint8))
    return np.stack(columns, axis=1)


def _written_as_floats(arrays: list[pa.Array]) -> bool:
    """Float columns, or text columns with a decimal point or exponent in some value."""
    for array in arrays:
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        if pa.types.is_floating(array.type):
            return True
        is_text = pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
        if is_text and pc.any(pc.match_substring_regex(array, r"[.eE]")).as_py():
            return True
    return False


def _channel_values(
    array: pa.Array,
    name: str,
    reasons: list[tuple[int, str, str, str]],
    valid_so_far: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """One channel column as float64 and which of its rows hold a number; a reason is added for
    each row that becomes invalid here (rows already invalid keep their first reason)."""
    n = len(array)
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        numeric = pc.fill_null(pc.match_substring_regex(array, _NUMBER), False).to_numpy(
            zero_copy_only=False
        )
        floats = np.zeros(n)
        if numeric.any():
            floats[numeric] = pc.cast(
                pc.utf8_trim_whitespace(array.filter(pa.array(numeric))), pa.float64()
            ).to_numpy()
        for row in np.flatnonzero(~numeric & valid_so_far):
            value = array[row].as_py()
            why = "empty cell" if value is None or not str(value).strip() else "not a number"
            reasons.append((int(row), name, "" if value is None else str(value), why))
        return floats, numeric
    if (
        pa.types.is_integer(array.type)
        or pa.types.is_floating(array.type)
        or pa.types.is_boolean(array.type)
    ):
        floats = pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False)
        missing = np.isnan(floats)
        for row in np.flatnonzero(missing & valid_so_far):
            empty = array[row].as_py() is None
            reasons.append(
                (int(row), name, "" if empty else "NaN", "empty cell" if empty else "NaN")
            )
        return floats, ~missing
    raise FontpipeError(f"column {name!r} has type {array.type}, which is not a colour channel")
