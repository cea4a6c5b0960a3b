"""Parsing colours out of palette columns, vectorised, with a reason for every value refused.

Shapes understood (found by `fontpipe.palettes.detect`, or named by the caller):
- three channel columns: `r,g,b` or `red,green,blue` (any case), integers 0-255, or floats in
  0-1 or 0-255 (the scale must then be stated); booleans are refused;
- one text column of colour strings in the grammar of `fontpipe.color.css` (hex, rgb(), ...).
  A column of numbers is refused: a number is never a colour.
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
from fontpipe.palettes.detect import COLOR_NAME_HINTS, ColorSpec, detect_color_spec
from fontpipe.palettes.named import row_rejects

__all__ = ["COLOR_NAME_HINTS", "ColorSpec", "ParsedColors", "detect_color_spec", "parse_colors"]

Scale = Literal["255", "1"]
_NUMBER = r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$"

# ASCII hex digit -> value, 255 for anything else.
_NIBBLE = np.full(256, 255, dtype=np.uint8)
for _digit in range(10):
    _NIBBLE[ord("0") + _digit] = _digit
for _digit in range(6):
    _NIBBLE[ord("a") + _digit] = 10 + _digit
    _NIBBLE[ord("A") + _digit] = 10 + _digit


class ScaleNeeded(FontpipeError):
    """Channels whose scale (0-1 or 0-255) cannot be told from the values. The message says how
    to state it on the command line; `problem` is the message without that, for the API to word
    its own (`scale=`)."""

    def __init__(self, problem: str) -> None:
        super().__init__(
            f"{problem}: say whether they run 0-1 or 0-255 with --scale 1 or --scale 255"
        )
        self.problem = problem


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


def parse_colors(
    batch: pa.RecordBatch | pa.Table,
    spec: ColorSpec,
    scale: Scale | None,
    backdrop: RGB = WHITE,
) -> ParsedColors:
    if spec.color_column:
        parsed = _parse_text_column(batch.column(spec.color_column), spec.color_column, backdrop)
        return _with_reader_rejects(parsed, batch, spec.color_column)
    assert spec.rgb_columns is not None
    return _parse_channels([batch.column(c) for c in spec.rgb_columns], spec.rgb_columns, scale)


def _with_reader_rejects(
    parsed: ParsedColors, batch: pa.RecordBatch | pa.Table, column: str
) -> ParsedColors:
    """Rows the file's reader refused itself (a stylesheet's var() cycle, a token's missing
    alias: `fontpipe.palettes.named`), with the reader's reason."""
    refused = row_rejects(batch.schema)
    if not refused:
        return parsed
    texts = batch.column(column)
    reasons = [r for r in parsed.reasons if r[0] not in refused]
    for row, reason in refused.items():
        value = texts[row].as_py()
        reasons.append((row, column, "" if value is None else str(value), reason))
        parsed.valid[row] = False
        parsed.rgb[row] = 0
    parsed.reasons = sorted(reasons)
    parsed.srgb_hex = None  # rebuilt from the valid rows by the caller
    return parsed


def _as_strings(column: pa.Array | pa.ChunkedArray, name: str) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        # 16711680 or 123 is not #ff0000 or #112233: a number is never read as a colour.
        raise FontpipeError(
            f"column {name!r} holds {kind} values, not colour strings; give colours as text "
            "(#rrggbb, rgb(), ...) or as r,g,b channel columns"
        )
    if pa.types.is_boolean(kind):
        raise FontpipeError(f"column {name!r} holds booleans, not colour strings")
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        try:
            column = pc.cast(column, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise FontpipeError(f"column {name!r} ({kind}) is not text ({exc})") from None
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
    # Without the `#`, six decimal digits are a number (112233), never a colour.
    ok = (digits < 16).all(axis=1) & (hashed[candidates] | (digits >= 10).any(axis=1))
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
    text = _as_strings(column, name)
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
        raise ScaleNeeded(f"columns {','.join(names)} hold fractional values")
    largest = values[valid].max() if valid.any() else 0.0
    if scale is None and 0 < largest <= 1 and _written_as_floats(arrays):
        # 1.0,1.0,1.0 is white on a 0-1 scale and almost black on 0-255: never guess. (All
        # zeros is black on either scale.)
        raise ScaleNeeded(
            f"columns {','.join(names)} are written as decimals and every value lies in 0-1"
        )
    scaled = values * (255.0 if scale == "1" else 1.0)
    out_of_range = valid & ((scaled < 0) | (scaled > 255)).any(axis=1)
    limit = "0-1" if scale == "1" else "0-255"
    for row in np.flatnonzero(out_of_range):
        column = int(np.flatnonzero((scaled[row] < 0) | (scaled[row] > 255))[0])
        # The value as written: 2**53 + 1 is not shown as its nearest float.
        written = arrays[column][int(row)].as_py()
        shown = f"{written:g}" if isinstance(written, float) else str(written).strip()
        reasons.append((int(row), names[column], shown, f"channel out of range {limit}"))
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
    if pa.types.is_boolean(array.type):
        # True/False are not channel values: read as 1/0 they would pass for a colour.
        raise FontpipeError(f"column {name!r} holds booleans, which are not colour channels")
    if pa.types.is_integer(array.type) or pa.types.is_floating(array.type):
        # Unchecked: an int64 beyond 2**53 has no exact float, and needs none to be out of range.
        floats = pc.cast(array, pa.float64(), safe=False).to_numpy(zero_copy_only=False)
        missing = np.isnan(floats)
        for row in np.flatnonzero(missing & valid_so_far):
            empty = array[row].as_py() is None
            reasons.append(
                (int(row), name, "" if empty else "NaN", "empty cell" if empty else "NaN")
            )
        return floats, ~missing
    raise FontpipeError(f"column {name!r} has type {array.type}, which is not a colour channel")
