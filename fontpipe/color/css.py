"""The colour grammar: which strings name a colour, and which 8-bit sRGB background they name.

One definition for every entry point: `fontpipe predict` parses its arguments with
`parse_color` (through `parse_color_argument`), and `fontpipe score` parses a text column with `parse_color_strings`, which runs
the same `parse_color` once per distinct string (after a vectorised fast path for plain
`#rrggbb` that is checked to agree with it). Accepted, case-insensitive, spaces around allowed:

- CSS Color Level 4: named colours and `transparent`; `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa`;
  `rgb()`/`rgba()` in comma or space syntax with numbers or percentages and `/ alpha`;
  `hsl()`/`hsla()`, `hwb()`; `lab()`, `lch()`, `oklab()`, `oklch()`; `color(srgb | srgb-linear |
  display-p3 | a98-rgb | prophoto-rgb | rec2020 | xyz | xyz-d50 | xyz-d65 ...)`;
- hex without the `#` only as 6 or 8 digits that are not all decimal (`ff8800`): `bad`, `fade`,
  `123` and `16711680` are words and numbers far more often than colours. A bare number is
  never a colour;
- for `predict` alone (`parse_color_argument`), a bare triple `r,g,b` or `r g b` of integers
  0-255 (what people type at a prompt).

Out-of-range components are clamped as CSS clamps them to the computed value, before gamut
mapping (`rgb(0 0 300)` is blue, `lab(150 0 0)` white, a negative chroma is 0); `none` is 0, so
`/ none` is a fully transparent colour, which is refused. `css_color` gives the computed colour
itself (with `none` kept) for colour arithmetic such as a stylesheet's `color-mix()`.

Colours outside sRGB are brought in by CSS Color 4 gamut mapping (chroma reduction in OkLCh
until the colour is within a just-noticeable difference, deltaEOK 0.02, of its clipped value),
not by clipping each channel. A translucent colour is composited over a backdrop (white unless
the caller says otherwise), because the text sits on what shows through.

Plain hex and integer `rgb()` are parsed here directly; everything else by ColorAide,
which implements the CSS specification's parsing, conversions and gamut mapping (it is imported
only when such a string comes along, so a quick look-up of `#336699` stays quick). ColorAide
over colour-science or colormath: it follows CSS Color 4 syntax and its gamut-mapping algorithm
exactly, is pure Python with no dependencies, and is maintained against the living spec.
"""

from __future__ import annotations

# ColorAide loads on first use (about 0.2 s at start-up): hex and rgb() never need it.
import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from fontpipe.color.gamut import map_into_srgb
from fontpipe.errors import FontpipeError

RGB = tuple[int, int, int]
WHITE: Final[RGB] = (255, 255, 255)

_HEX: Final = re.compile(r"#([0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
_BARE_HEX: Final = re.compile(r"[0-9a-fA-F]{6}|[0-9a-fA-F]{8}")
_NUMBER: Final = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?%?"
_NUMBERS: Final = re.compile(rf"{_NUMBER}(?:[\s,/]+{_NUMBER})*")
_INT_TRIPLE_COMMA: Final = re.compile(r"(\d{1,9})\s*,\s*(\d{1,9})\s*,\s*(\d{1,9})")
_INT_TRIPLE_SPACE: Final = re.compile(r"(\d{1,9})\s+(\d{1,9})\s+(\d{1,9})")
_FUNCTION: Final = re.compile(r"([a-zA-Z-]+)\(\s*(.*?)\s*\)")
_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")

# CSS Color 4 notations and what they take, for the reasons given when a value does not parse.
FUNCTIONS: Final = {
    "rgb": "rgb(r g b [/ alpha]) or rgb(r, g, b[, alpha])",
    "rgba": "rgba(r, g, b, alpha)",
    "hsl": "hsl(h s% l% [/ alpha])",
    "hsla": "hsla(h, s%, l%, alpha)",
    "hwb": "hwb(h w% b% [/ alpha])",
    "lab": "lab(L a b [/ alpha])",
    "lch": "lch(L C h [/ alpha])",
    "oklab": "oklab(L a b [/ alpha])",
    "oklch": "oklch(L C h [/ alpha])",
    "color": "color(space c1 c2 c3 [/ alpha])",
}
COLOR_SPACES: Final = (
    "srgb",
    "srgb-linear",
    "display-p3",
    "a98-rgb",
    "prophoto-rgb",
    "rec2020",
    "xyz",
    "xyz-d50",
    "xyz-d65",
)


class ColorSyntaxError(FontpipeError):
    """A string that is not a colour; the message is the reason, without the value."""


@dataclass(frozen=True)
class ParsedColor:
    rgb: RGB  # the 8-bit sRGB background that is scored: mapped into gamut, composited
    alpha: float  # as written; below 1 the colour was composited over the backdrop
    gamut_mapped: bool  # the colour lay outside sRGB and was mapped into it

    @property
    def hex(self) -> str:
        return "#{:02x}{:02x}{:02x}".format(*self.rgb)


@dataclass(frozen=True)
class _OutOfGamut:
    """A parsed colour outside sRGB, to be mapped into it together with others."""

    oklab: tuple[float, float, float]
    alpha: float


def parse_color(text: str, backdrop: RGB = WHITE) -> ParsedColor:
    """One colour string -> the 8-bit sRGB it puts behind the text, or ColorSyntaxError."""
    found = _parse_one(text, backdrop)
    if isinstance(found, _OutOfGamut):
        return _map_out_of_gamut([found], backdrop)[0]
    return found


def _parse_one(text: str, backdrop: RGB) -> ParsedColor | _OutOfGamut:
    value = text.strip()
    if not value:
        raise ColorSyntaxError("empty cell")
    quick = _parse_simple(value)
    if quick is not None:
        rgb, alpha = quick
        return _composited(rgb, alpha, False, backdrop)
    return _parse_css(value, backdrop)


def is_number_text(value: str) -> bool:
    """A bare number or a run of them (`123`, `16711680`, `16 9 1`, `1.5`): never a colour."""
    return _NUMBERS.fullmatch(value.strip()) is not None


def _parse_simple(value: str) -> tuple[tuple[float, float, float], float] | None:
    """Hex and integer rgb()/rgba() without ColorAide; None for anything else."""
    match = _HEX.fullmatch(value)
    if match is None and _BARE_HEX.fullmatch(value) and not value.isdecimal():
        match = _HEX.fullmatch("#" + value)
    if match:
        digits = match.group(1)
        if len(digits) <= 4:
            digits = "".join(c * 2 for c in digits)
        channels = [int(digits[i : i + 2], 16) for i in range(0, len(digits), 2)]
        alpha = channels[3] / 255 if len(channels) == 4 else 1.0
        return (float(channels[0]), float(channels[1]), float(channels[2])), alpha
    function = _FUNCTION.fullmatch(value)
    if function is None or function.group(1).lower() not in {"rgb", "rgba"}:
        return None
    triple = _int_triple(function.group(2))
    if triple is None:
        return None
    # CSS clamps rgb(100, 200, 300) to 255 at its computed value: the same colour here.
    r, g, b = (float(min(c, 255)) for c in triple)
    return (r, g, b), 1.0


def _int_triple(text: str) -> tuple[int, int, int] | None:
    for triple in (_INT_TRIPLE_COMMA, _INT_TRIPLE_SPACE):
        match = triple.fullmatch(text)
        if match:
            return int(match.group(1)), int(match.group(2)), int(match.group(3))
    return None


def _parse_css(value: str, backdrop: RGB) -> ParsedColor | _OutOfGamut:
    color, name = _css_object(value)
    return _to_srgb(_computed(color, name), backdrop)


def css_color(text: str) -> Any:
    """The ColorAide colour a CSS colour string computes to, clamped as CSS clamps it but with
    `none` components kept (colour arithmetic, such as color-mix(), treats them apart);
    ColorSyntaxError with the reason for a string that is no colour."""
    value = text.strip()
    if _BARE_HEX.fullmatch(value) and not value.isdecimal():
        value = "#" + value
    if is_number_text(value) or (_HEX_DIGITS.issuperset(value) and value):
        raise ColorSyntaxError(_why_not(value, None))
    color, name = _css_object(value)
    return _computed(color, name, keep_none=True)


def _css_object(value: str) -> tuple[Any, str | None]:
    """ColorAide's reading of a CSS colour string, and the notation it is written in."""
    function = _FUNCTION.fullmatch(value)
    name = function.group(1).lower() if function else None
    if function is None and "(" in value:
        raise ColorSyntaxError(f"unclosed or malformed function ({value.split('(')[0]}(...))")
    if name is not None and name not in FUNCTIONS:
        raise ColorSyntaxError(f"unknown colour function {name}()")
    if name == "color":
        space = function.group(2).split()[0].lower() if function and function.group(2) else ""
        if space not in COLOR_SPACES:
            raise ColorSyntaxError(
                f"invalid color() colour: unknown colour space {space!r} "
                f"(expected one of {', '.join(COLOR_SPACES)})"
            )
    text = f"{name}({function.group(2)})" if function and name else value.lower()
    color = _coloraide(text)
    if color is None:
        raise ColorSyntaxError(_why_not(value, name))
    return color, name


# What CSS clamps at a colour's computed value, by notation: (component, low, high or None for
# no upper bound). Chromium's computed colours agree (tests/unit/test_browser_colors.py).
_UNIT = (0.0, 1.0)
_CLAMPS: Final[dict[str | None, tuple[tuple[int, float, float | None], ...]]] = {
    "rgb": ((0, *_UNIT), (1, *_UNIT), (2, *_UNIT)),
    "rgba": ((0, *_UNIT), (1, *_UNIT), (2, *_UNIT)),
    "hsl": ((1, *_UNIT), (2, *_UNIT)),
    "hsla": ((1, *_UNIT), (2, *_UNIT)),
    "hwb": ((1, 0.0, None), (2, 0.0, None)),
    "lab": ((0, 0.0, 100.0),),
    "lch": ((0, 0.0, 100.0), (1, 0.0, None)),
    "oklab": ((0, *_UNIT),),
    "oklch": ((0, *_UNIT), (1, 0.0, None)),
}
_HUE: Final = {"hsl": 0, "hsla": 0, "hwb": 0, "lch": 2, "oklch": 2}


def _computed(color: Any, function: str | None, *, keep_none: bool = False) -> Any:
    """The colour as CSS computes it before gamut mapping: out-of-range components clamped,
    alpha clamped to 0-1, and `none` 0 (so `/ none` is transparent) unless `keep_none`."""
    nan = math.nan if keep_none else 0.0
    coords = [nan if c != c else float(c) for c in color.coords()]
    for index, low, high in _CLAMPS.get(function, ()):
        if coords[index] == coords[index]:
            top = math.inf if high is None else high
            coords[index] = min(max(coords[index], low), top)
    hue = _HUE.get(function or "")
    if hue is not None and math.isinf(coords[hue]):
        coords[hue] = 0.0  # an infinite angle reads as 0deg, as in browsers
    if any(math.isinf(c) for c in coords):
        raise ColorSyntaxError("a component is infinite (out of range)")
    alpha = color.alpha()
    alpha = nan if alpha != alpha else min(max(float(alpha), 0.0), 1.0)
    return _COLOR_CLASS(color.space(), coords, alpha)


_TRANSPARENT = "fully transparent: there is no background to read text on"
_COLOR_CLASS: Any = None


def _coloraide(text: str) -> Any:
    global _COLOR_CLASS
    if _COLOR_CLASS is None:
        from coloraide import Color

        _COLOR_CLASS = Color
    try:
        return _COLOR_CLASS(text)
    except (ValueError, TypeError):
        return None


def _to_srgb(color: Any, backdrop: RGB) -> ParsedColor | _OutOfGamut:
    alpha = float(color.alpha())
    if alpha <= 0:
        raise ColorSyntaxError(_TRANSPARENT)
    srgb = color.convert("srgb")
    # Outside sRGB by more than half an 8-bit step: nearer than that, mapping and rounding give
    # the same byte (the D65 white point written in XYZ lands 1e-4 outside, for one).
    if not srgb.in_gamut(tolerance=0.5 / 255):
        lab = color.convert("oklab").coords(nans=False)
        return _OutOfGamut((float(lab[0]), float(lab[1]), float(lab[2])), alpha)
    coords = [min(max(float(c), 0.0), 1.0) if c == c else 0.0 for c in srgb.coords()]
    rgb = (coords[0] * 255, coords[1] * 255, coords[2] * 255)
    return _composited(rgb, alpha, False, backdrop)


def _map_out_of_gamut(colors: Sequence[_OutOfGamut], backdrop: RGB) -> list[ParsedColor]:
    """CSS Color 4 gamut mapping (OkLCh chroma reduction to within deltaEOK 0.02), for all of
    them in one vectorised search."""

    srgb = map_into_srgb(np.array([c.oklab for c in colors], dtype=np.float64)) * 255
    return [
        _composited((row[0], row[1], row[2]), color.alpha, True, backdrop)
        for row, color in zip(srgb.tolist(), colors, strict=True)
    ]


def _composited(
    rgb: tuple[float, float, float], alpha: float, mapped: bool, backdrop: RGB
) -> ParsedColor:
    if alpha <= 0:
        raise ColorSyntaxError(_TRANSPARENT)
    if alpha < 1:
        # Source-over in sRGB, as browsers paint a translucent background over what is behind.
        r, g, b = (alpha * c + (1 - alpha) * k for c, k in zip(rgb, backdrop, strict=True))
        rgb = (r, g, b)
    eight = tuple(int(min(max(round(c), 0), 255)) for c in rgb)
    return ParsedColor(rgb=(eight[0], eight[1], eight[2]), alpha=alpha, gamut_mapped=mapped)


def _why_not(value: str, function: str | None) -> str:
    if function is not None:
        return f"invalid {function}() colour (expected {FUNCTIONS[function]})"
    if is_number_text(value):
        return "a number, not a colour (hex colours are written with #, e.g. #0099ff)"
    stripped = value.lstrip("#")
    if stripped and all(c in _HEX_DIGITS for c in stripped):
        if not value.startswith("#") and len(stripped) in (3, 4):
            return f"hex without # needs 6 or 8 digits (write #{stripped})"
        return f"invalid hex colour (expected 3, 4, 6 or 8 hex digits, got {len(stripped)})"
    if value.startswith("#"):
        return "invalid hex colour (not hex digits)"
    return "not a colour (expected a CSS colour such as #rrggbb, rgb(), hsl(), oklch() or a name)"


def parse_color_argument(text: str, backdrop: RGB = WHITE) -> ParsedColor:
    """`parse_color` for a value a person typed, which may also be a bare triple `r,g,b` or
    `r g b` (0-255, refused above: at a prompt 300 is a typo); the error quotes it."""
    triple = _int_triple(text.strip())
    if triple is not None:
        if max(triple) > 255:
            raise FontpipeError(f"{text!r}: not a colour (channel out of range 0-255)")
        r, g, b = triple
        return ParsedColor(rgb=(r, g, b), alpha=1.0, gamut_mapped=False)
    try:
        return parse_color(text, backdrop)
    except ColorSyntaxError as exc:
        reason = str(exc)
        if not reason.startswith("not a colour"):
            reason = f"not a colour ({reason})"
        raise FontpipeError(f"{text!r}: {reason}") from None


def parse_backdrop(text: str) -> RGB:
    """The colour translucent backgrounds are composited over: any opaque CSS colour."""
    if text.strip().lower() == "white":
        return WHITE  # the default: no need to load the CSS parser for a quick look-up
    try:
        parsed = parse_color(text)
    except ColorSyntaxError as exc:
        raise FontpipeError(f"--backdrop {text!r}: {exc}") from None
    if parsed.alpha < 1:
        raise FontpipeError(f"--backdrop {text!r}: the backdrop must be opaque")
    return parsed.rgb


@dataclass(frozen=True)
class ParsedStrings:
    """Per distinct string: whether it is a colour, and if so what was scored."""

    valid: npt.NDArray[np.bool_]
    rgb: npt.NDArray[np.uint8]  # (n, 3); zeros where invalid
    gamut_mapped: npt.NDArray[np.bool_]
    translucent: npt.NDArray[np.bool_]
    reasons: dict[int, str]  # index -> why it is not a colour


# Distinct string (and backdrop) -> its parse, for the life of the process: a billion-row file
# with a few thousand distinct strings is parsed a few thousand times, not once per chunk.
_CACHE: dict[tuple[str, RGB], ParsedColor | str] = {}
_CACHE_LIMIT = 1_000_000
_CACHE_FILL = threading.Lock()


def parse_color_strings(values: Sequence[str | None], backdrop: RGB = WHITE) -> ParsedStrings:
    """Distinct strings -> what each one names. The caller passes each distinct string once."""
    n = len(values)
    valid = np.zeros(n, dtype=bool)
    rgb = np.zeros((n, 3), dtype=np.uint8)
    mapped = np.zeros(n, dtype=bool)
    translucent = np.zeros(n, dtype=bool)
    reasons: dict[int, str] = {}
    missing: list[str] = [v for v in values if v is not None and (v, backdrop) not in _CACHE]
    found: dict[str, ParsedColor | _OutOfGamut | str] = {}
    if missing:
        # Parts scored on parallel threads meet the same palette at once: one thread parses
        # (ColorAide is pure Python, so two would only take turns) and the other finds the
        # cache filled.
        with _CACHE_FILL:
            for text in missing:
                if (text, backdrop) in _CACHE or text in found:
                    continue
                try:
                    found[text] = _parse_one(text, backdrop)
                except ColorSyntaxError as exc:
                    found[text] = str(exc)
            pending = {v: f for v, f in found.items() if isinstance(f, _OutOfGamut)}
            if pending:
                in_gamut = _map_out_of_gamut(list(pending.values()), backdrop)
                found.update(zip(pending, in_gamut, strict=True))
            for text, outcome in found.items():
                if len(_CACHE) >= _CACHE_LIMIT:
                    break
                assert not isinstance(outcome, _OutOfGamut)
                _CACHE[(text, backdrop)] = outcome
    for i, value in enumerate(values):
        if value is None:
            reasons[i] = "empty cell"
            continue
        cached = _CACHE.get((value, backdrop))
        # Beyond the cache's limit a result is kept for this call only, in `found`.
        result = found[value] if cached is None else cached
        assert not isinstance(result, _OutOfGamut)
        if isinstance(result, str):
            reasons[i] = result
            continue
        valid[i] = True
        rgb[i] = result.rgb
        mapped[i] = result.gamut_mapped
        translucent[i] = result.alpha < 1
    return ParsedStrings(valid, rgb, mapped, translucent, reasons)
