"""The colour grammar: which strings name a colour, and what 8-bit RGB they name.

One definition for every entry point: `fontpipe predict` parses its arguments with
`parse_color`, and `fontpipe score` parses a text column with `parse_color_strings`, which runs
the same `parse_color` once per distinct string (after a vectorised fast path for plain hex that
is checked to agree with it). Accepted, case-insensitive, surrounding spaces allowed:

- hex: `#rrggbb`, `rrggbb`, `#rgb`, `rgb`;
- `rgb(r, g, b)` / `rgba(r, g, b, a)` (comma syntax) and `rgb(r g b)` / `rgb(r g b / a)`
  (space syntax), integer channels 0-255; the alpha is ignored;
- a bare triple `r,g,b` or `r g b`.

Imports only numpy, so a quick look-up stays quick.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from fontpipe.errors import FontpipeError

RGB = tuple[int, int, int]

_HEX: Final = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")
_ALPHA: Final = r"[\d.]+%?"
_COMMA_TRIPLE: Final = rf"(\d{{1,3}})\s*,\s*(\d{{1,3}})\s*,\s*(\d{{1,3}})(?:\s*,\s*{_ALPHA})?"
_SPACE_TRIPLE: Final = rf"(\d{{1,3}})\s+(\d{{1,3}})\s+(\d{{1,3}})(?:\s*/\s*{_ALPHA})?"
_FUNCTION: Final = re.compile(r"(?i:rgba?)\(\s*(.*?)\s*\)")
_TRIPLES: Final = (re.compile(_COMMA_TRIPLE), re.compile(_SPACE_TRIPLE))
_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")


class ColorSyntaxError(FontpipeError):
    """A string that is not a colour; the message is the reason, without the value."""


def parse_color(text: str) -> RGB:
    """One colour string -> (r, g, b) in 0-255, or ColorSyntaxError with the reason."""
    value = text.strip()
    if not value:
        raise ColorSyntaxError("empty cell")
    match = _HEX.fullmatch(value)
    if match:
        digits = match.group(1)
        if len(digits) == 3:
            digits = "".join(c * 2 for c in digits)
        return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)
    function = _FUNCTION.fullmatch(value)
    body = function.group(1) if function else value
    for triple in _TRIPLES:
        match = triple.fullmatch(body)
        if match:
            channels = (int(match.group(1)), int(match.group(2)), int(match.group(3)))
            if any(c > 255 for c in channels):
                raise ColorSyntaxError("channel out of range 0-255")
            return channels
    raise ColorSyntaxError(_why_not_a_colour(value, is_function=function is not None))


def _why_not_a_colour(value: str, *, is_function: bool) -> str:
    stripped = value.lstrip("#")
    if stripped and all(c in _HEX_DIGITS for c in stripped):
        return f"invalid hex colour (expected 3 or 6 hex digits, got {len(stripped)})"
    if is_function or value.lower().startswith("rgb"):
        return "invalid rgb() colour"
    return "not a colour (expected #rrggbb, #rgb, rgb(r, g, b) or r,g,b)"


def parse_color_argument(text: str) -> RGB:
    """`parse_color` for a value a person typed: the error quotes it."""
    try:
        return parse_color(text)
    except ColorSyntaxError as exc:
        reason = str(exc)
        if not reason.startswith("not a colour"):
            reason = f"not a colour ({reason})"
        raise FontpipeError(f"{text!r}: {reason}") from None


def parse_color_strings(
    values: Sequence[str | None],
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.uint8], dict[int, str]]:
    """Distinct strings -> (valid, rgb (n, 3) uint8, reason by index of each invalid one).

    The caller passes each distinct string once; a palette of a billion rows usually holds a
    few thousand, so the per-string Python cost does not grow with the file.
    """
    n = len(values)
    valid = np.zeros(n, dtype=bool)
    rgb = np.zeros((n, 3), dtype=np.uint8)
    reasons: dict[int, str] = {}
    for i, value in enumerate(values):
        if value is None:
            reasons[i] = "empty cell"
            continue
        try:
            rgb[i] = parse_color(value)
            valid[i] = True
        except ColorSyntaxError as exc:
            reasons[i] = str(exc)
    return valid, rgb, reasons
