"""`color-mix()` computed as CSS Color 5 computes it, by ColorAide, for stylesheets.

`color-mix([in <space> [<hue> hue]], <colour> [<p>%], <colour> [<p>%])`: the percentages are
normalised (both missing: 50 % each; one missing: 100 % minus the other; a sum over 100 % scaled
down; a sum under 100 % also scales the result's alpha), then the colours are interpolated in
the space (Oklab when none is named) with premultiplied alpha, as ColorAide's `mix` does for CSS.
The result is written as a CSS colour in that space, which the colour grammar parses again.
A mix that cannot be computed (a keyword such as `currentColor`, a percentage out of range, a
hue method in a rectangular space) is refused with the reason.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

from fontpipe.color.css import ColorSyntaxError, css_color

_COLOR_MIX: Final = re.compile(r"(?<![\w-])color-mix\(", re.IGNORECASE)
_PERCENT: Final = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?%")
# CSS interpolation spaces -> ColorAide's names.
_SPACES: Final = {
    "srgb": "srgb",
    "srgb-linear": "srgb-linear",
    "display-p3": "display-p3",
    "a98-rgb": "a98-rgb",
    "prophoto-rgb": "prophoto-rgb",
    "rec2020": "rec2020",
    "xyz": "xyz-d65",
    "xyz-d65": "xyz-d65",
    "xyz-d50": "xyz-d50",
    "lab": "lab",
    "oklab": "oklab",
    "hsl": "hsl",
    "hwb": "hwb",
    "lch": "lch",
    "oklch": "oklch",
}
_POLAR: Final = {"hsl", "hwb", "lch", "oklch"}
_HUE_METHODS: Final = {"shorter", "longer", "increasing", "decreasing"}


class Unresolved(Exception):
    """A value that cannot be computed; the message is the reason."""


def closing_paren(text: str, start: int) -> int:
    """The index of the `)` that closes the `(` at `start`."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    opened = text[:start].split()[-1] if text[:start].split() else ""
    raise Unresolved(f"unclosed {opened}(")


def split_top_level(text: str, separator: str, limit: int = -1) -> list[str]:
    """`text` split at `separator` outside parentheses (at most `limit` times when >= 0)."""
    parts: list[str] = []
    depth = start = 0
    for i, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        if char == separator and depth == 0 and (limit < 0 or len(parts) < limit):
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def evaluate_mixes(value: str) -> str:
    """The value with every color-mix() replaced by the colour it computes to, innermost first."""
    while True:
        matches = list(_COLOR_MIX.finditer(value))
        if not matches:
            return value
        last = matches[-1]  # the innermost: any mix nested in it would start after it
        end = closing_paren(value, last.end() - 1)
        mixed = color_mix(value[last.end() : end])
        value = value[: last.start()] + mixed + value[end + 1 :]


def color_mix(arguments: str) -> str:
    """The colour `color-mix(<arguments>)` computes to, as CSS text."""
    parts = [p.strip() for p in split_top_level(arguments, ",")]
    space, hue = "oklab", "shorter"
    if parts and parts[0].lower().startswith("in "):
        space, hue = _interpolation(parts.pop(0))
    if len(parts) != 2:
        raise Unresolved(f"color-mix() needs two colours, not {len(parts)}")
    (first, p1), (second, p2) = (_weighted(p) for p in parts)
    weight, alpha_scale = _weights(p1, p2)
    colours = []
    for text in (first, second):
        try:
            colours.append(css_color(text))
        except ColorSyntaxError as exc:
            raise Unresolved(f"color-mix(): {text!r} cannot be mixed ({exc})") from None
    mixed = colours[0].mix(colours[1], weight, space=_SPACES[space], hue=hue, premultiplied=True)
    if alpha_scale < 1:
        mixed.set("alpha", mixed.alpha(nans=False) * alpha_scale)
    return _css_text(mixed, _SPACES[space])


def _interpolation(method: str) -> tuple[str, str]:
    words = method.lower().split()[1:]
    if not words or words[0] not in _SPACES:
        named = words[0] if words else ""
        raise Unresolved(f"color-mix(): unknown colour space {named!r}")
    space, rest = words[0], words[1:]
    if not rest:
        return space, "shorter"
    if space in _POLAR and len(rest) == 2 and rest[0] in _HUE_METHODS and rest[1] == "hue":
        return space, rest[0]
    raise Unresolved(f"color-mix(): invalid interpolation method {method!r}")


def _weighted(part: str) -> tuple[str, float | None]:
    """A colour and its percentage (before or after it), or None when none is given."""
    words = split_top_level(" ".join(part.split()), " ")
    percent: float | None = None
    if words and _PERCENT.fullmatch(words[-1]):
        percent = float(words.pop()[:-1])
    elif words and _PERCENT.fullmatch(words[0]):
        percent = float(words.pop(0)[:-1])
    if not words:
        raise Unresolved("color-mix(): a percentage without a colour")
    if percent is not None and not 0 <= percent <= 100:
        raise Unresolved(f"color-mix(): {percent:g}% is outside 0%-100%")
    return " ".join(words), percent


def _weights(p1: float | None, p2: float | None) -> tuple[float, float]:
    """The second colour's share of the mix, and the factor on the result's alpha."""
    if p1 is None and p2 is None:
        p1 = p2 = 50.0
    elif p1 is None:
        p1 = 100.0 - (p2 or 0.0)
    elif p2 is None:
        p2 = 100.0 - p1
    assert p1 is not None and p2 is not None
    total = p1 + p2
    if total == 0:
        raise Unresolved("color-mix(): the percentages add up to 0%")
    return p2 / total, min(total, 100.0) / 100.0


def _css_text(color: Any, space: str) -> str:
    """The colour as CSS text the colour grammar reads back: in its own space where CSS has a
    function for it, else as color(srgb ...) (hsl and hwb are sRGB)."""
    if space in ("hsl", "hwb"):
        color, space = color.convert("srgb"), "srgb"
    numbers = " ".join(_number(c) for c in color.coords())
    alpha = color.alpha(nans=False)
    suffix = "" if alpha >= 1 else f" / {_number(alpha)}"
    if space in ("lab", "lch", "oklab", "oklch"):
        return f"{space}({numbers}{suffix})"
    return f"color({space} {numbers}{suffix})"


def _number(value: float) -> str:
    return "none" if math.isnan(value) else repr(float(value))
