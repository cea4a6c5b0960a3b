"""Labelling rules: which text colour, black (1) or white (0), reads best on a background.

Every rule is exact for uint8 colours and also accepts float 0-255 channels (the original
question's continuous sampling). Each rule's signed margin is positive exactly where the rule
says black, so `label == (margin > 0)` holds for every colour; evaluation bands use |margin|.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import numpy as np
import numpy.typing as npt

from fontpipe.color import apca
from fontpipe.errors import FontpipeError

FloatArray = npt.NDArray[np.float64]
LabelArray = npt.NDArray[np.int8]

# WCAG 2.x: black text wins when (L+0.05)/0.05 > 1.05/(L+0.05), i.e. (L+0.05)^2 > 1.05*0.05.
WCAG_LUMINANCE_THRESHOLD: Final = math.sqrt(1.05 * 0.05) - 0.05  # ~0.1791


# int32 for integer colours (exact sums), float64 otherwise
Channel = npt.NDArray[Any]


def _channels(rgb: npt.ArrayLike) -> tuple[Channel, Channel, Channel]:
    """Split (..., 3) colours into channels: int32 for integer input (exact sums), else float64."""
    arr = np.asarray(rgb)
    if arr.shape[-1:] != (3,):
        raise ValueError(f"expected colours shaped (..., 3), got {arr.shape}")
    kind = np.int32 if np.issubdtype(arr.dtype, np.integer) else np.float64
    return (arr[..., 0].astype(kind), arr[..., 1].astype(kind), arr[..., 2].astype(kind))


def mean_margin(rgb: npt.ArrayLike) -> FloatArray:
    """r+g+b-382.5, in 0-765 sum units: black when mean(r,g,b)/255 > 0.5, i.e. r+g+b >= 383."""
    r, g, b = _channels(rgb)
    return r + g + b - 382.5


def _linearise(channel: npt.ArrayLike) -> FloatArray:
    c = np.asarray(channel, dtype=np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


# Integer channels look their weighted linear value up instead of computing a power per pixel.
# The table holds the very products the float path computes, so both paths agree bit for bit.
_LEVELS = np.arange(256)
_WEIGHTED_LINEAR = tuple(w * _linearise(_LEVELS) for w in (0.2126, 0.7152, 0.0722))


def relative_luminance(rgb: npt.ArrayLike) -> FloatArray:
    """WCAG 2.x relative luminance in [0, 1]."""
    arr = np.asarray(rgb)
    if arr.dtype == np.uint8:
        wr, wg, wb = _WEIGHTED_LINEAR
        looked_up: FloatArray = wr[arr[..., 0]] + wg[arr[..., 1]] + wb[arr[..., 2]]
        return looked_up
    r, g, b = _channels(arr)
    computed: FloatArray = 0.2126 * _linearise(r) + 0.7152 * _linearise(g) + 0.0722 * _linearise(b)
    return computed


FloatT = TypeVar("FloatT", np.float32, np.float64)


def text_contrast(luminance: npt.NDArray[FloatT], black_text: npt.ArrayLike) -> npt.NDArray[FloatT]:
    """The WCAG contrast of black text (luminance 0) or white text (luminance 1) on backgrounds
    of the given relative luminance: (L + 0.05) / 0.05, or 1.05 / (L + 0.05).

    The one definition every stage uses (evaluation, scoring, look-ups). The result keeps the
    luminance's float type: scoring runs it in float32 and rechecks rows near 4.5:1 in float64.
    """
    one = luminance.dtype.type
    shifted = luminance + one(0.05)
    if isinstance(black_text, bool):  # one text colour for every row: only its branch
        side: npt.NDArray[FloatT] = shifted / one(0.05) if black_text else one(1.05) / shifted
        return side
    contrast: npt.NDArray[FloatT] = np.where(
        np.asarray(black_text, dtype=bool), shifted / one(0.05), one(1.05) / shifted
    )
    return contrast


def text_contrast_ratio(rgb: npt.ArrayLike, black_text: npt.ArrayLike) -> FloatArray:
    """Contrast ratio of the chosen text colour (black where black_text is true) on each colour."""
    return text_contrast(np.asarray(relative_luminance(rgb), dtype=np.float64), black_text)


# Weighted linear channel values in float32: half the memory traffic of the float64 tables, for
# bulk scoring, which rechecks the few rows near a threshold in float64.
_WEIGHTED_LINEAR_32 = tuple(w.astype(np.float32) for w in _WEIGHTED_LINEAR)


def relative_luminance_float32(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """Relative luminance of (n, 3) uint8 colours in float32 (within 1e-7 of the float64 value)."""
    wr, wg, wb = _WEIGHTED_LINEAR_32
    # np.take with the uint8 columns as they are, summed in place in the same order as
    # wr[r] + wg[g] + wb[b] (same bits): half the time of fancy indexing, which first
    # converts each index column to intp.
    luminance: npt.NDArray[np.float32] = np.take(wr, rgb[:, 0])
    luminance += np.take(wg, rgb[:, 1])
    luminance += np.take(wb, rgb[:, 2])
    return luminance


def wcag_margin(rgb: npt.ArrayLike) -> FloatArray:
    """Relative luminance minus ~0.1791, in luminance units."""
    return relative_luminance(rgb) - WCAG_LUMINANCE_THRESHOLD


def yiq_margin(rgb: npt.ArrayLike) -> FloatArray:
    """YIQ luma minus 127.9995, in 0-255 luma units.

    Black when (299r + 587g + 114b)/1000 >= 128. For uint8 colours the weighted sum is an integer,
    so the boundary sits half a step (0.0005 luma) below 128; that keeps `margin > 0` exact.
    """
    r, g, b = _channels(rgb)
    return (299.0 * r + 587.0 * g + 114.0 * b - 127_999.5) / 1000.0


def apca_margin(rgb: npt.ArrayLike) -> FloatArray:
    """|Lc| of black text minus |Lc| of white text, in APCA Lc units: black where black's
    lightness contrast is the stronger; a tie gives white, as CSS `contrast-color()` does."""
    arr = np.asarray(rgb)
    if arr.dtype == np.uint8 and arr.ndim == 2:
        # Bulk (the cube, a dataset): Lc from APCA's table of Y, then the exact margin wherever
        # it lies near the tie, so the label is exact and the magnitude within 0.02 Lc.
        return apca_margin_from_lc(arr, *apca.text_lc_float32(arr))
    on_black, on_white = apca.text_lc(arr)
    exact: FloatArray = np.abs(on_black) - np.abs(on_white)
    return exact


def apca_margin_from_lc(
    rgb: npt.NDArray[np.uint8],
    lc_black: npt.NDArray[np.float32],
    lc_white: npt.NDArray[np.float32],
) -> FloatArray:
    """`apca_margin` from the bulk float32 Lc of (n, 3) uint8 colours (`apca.text_lc_float32`),
    recomputed exactly wherever it lies too near the tie for float32 to tell."""
    margin: FloatArray = np.abs(lc_black).astype(np.float64) - np.abs(lc_white)
    near = np.flatnonzero(np.abs(margin) < 0.05)
    if len(near):
        exact_black, exact_white = apca.text_lc(rgb[near])
        margin[near] = np.abs(exact_black) - np.abs(exact_white)
    return margin


# White text on a background of relative luminance L reaches AA (4.5:1) while L <= this.
WHITE_AA_LUMINANCE: Final = 1.05 / 4.5 - 0.05  # ~0.1833


def readable_margin(rgb: npt.ArrayLike) -> FloatArray:
    """4.5 minus white text's WCAG contrast, in contrast-ratio units: black where white text
    misses AA (4.5:1), white wherever white reaches it.

    The rule is "where both black and white reach AA, the APCA choice; elsewhere the WCAG
    choice", which reduces to this: APCA's black/white tie (screen luminance ~0.342) lies far
    above the band where both reach AA (relative luminance 0.175-0.1833), so wherever both pass,
    APCA prefers white; where only one passes, WCAG picks it. `tests/unit/test_rules.py` checks
    the reduction on every colour of the cube.
    """
    on_white = text_contrast(relative_luminance(rgb), False)
    margin: FloatArray = 4.5 - on_white
    return margin


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    margin: Callable[[npt.ArrayLike], FloatArray]
    margin_unit: str
    # Edges of the |margin| bands that evaluation reports, in margin units, innermost first.
    band_edges: tuple[float, ...]
    # Default half-width of the region that `boundary` sampling draws from.
    boundary_width: float
    # An error at least this far from the boundary (|margin|, in margin units) is a "far" error:
    # one a reader would notice, not a coin toss between two nearly equal answers. For wcag,
    # |delta L| 2e-4, where both text colours still reach 4.5:1; the other rules' edges are
    # about as far, in their own units.
    far_margin: float

    def label(self, rgb: npt.ArrayLike) -> LabelArray:
        """1 (black text) where the rule's margin is positive, else 0 (white text)."""
        return (self.margin(rgb) > 0).astype(np.int8)


RULES: Final[dict[str, Rule]] = {
    "mean": Rule(
        name="mean",
        description="mean(r,g,b)/255 > 0.5, i.e. r+g+b >= 383",
        margin=mean_margin,
        margin_unit="r+g+b",
        band_edges=(1.5, 3, 6, 12, 24, 48),
        boundary_width=12.0,
        far_margin=1.5,
    ),
    "wcag": Rule(
        name="wcag",
        description="WCAG 2.x: black when its contrast ratio beats white's (L > 0.1791)",
        margin=wcag_margin,
        margin_unit="relative luminance",
        band_edges=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05),
        boundary_width=0.01,
        far_margin=2e-4,
    ),
    "yiq": Rule(
        name="yiq",
        description="YIQ luma (299r + 587g + 114b)/1000 >= 128",
        margin=yiq_margin,
        margin_unit="luma",
        band_edges=(0.5, 1, 2, 4, 8, 16),
        boundary_width=4.0,
        far_margin=0.05,
    ),
    "apca": Rule(
        name="apca",
        description="APCA: black when black text's |Lc| beats white text's (screen Y > ~0.342)",
        margin=apca_margin,
        margin_unit="APCA Lc",
        band_edges=(1, 2, 5, 10, 20, 40),
        boundary_width=5.0,
        far_margin=0.05,
    ),
    "readable": Rule(
        name="readable",
        description="AA kept, then APCA: white wherever white reaches 4.5:1, else black",
        margin=readable_margin,
        margin_unit="contrast ratio",
        band_edges=(0.01, 0.02, 0.05, 0.1, 0.2, 0.5),
        boundary_width=0.1,
        far_margin=0.004,
    ),
}


def get_rule(name: str) -> Rule:
    try:
        return RULES[name]
    except KeyError:
        known = ", ".join(RULES)
        raise FontpipeError(f"unknown rule {name!r}: choose one of {known}") from None


def mean_label(rgb: npt.ArrayLike) -> LabelArray:
    return RULES["mean"].label(rgb)


def wcag_label(rgb: npt.ArrayLike) -> LabelArray:
    return RULES["wcag"].label(rgb)


def yiq_label(rgb: npt.ArrayLike) -> LabelArray:
    return RULES["yiq"].label(rgb)
