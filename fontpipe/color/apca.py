"""APCA lightness contrast (Lc), the perceptual contrast model of the WCAG 3 drafts.

APCA-W3 0.0.98G-4g, written from its published formula and constants (the reference code carries
a restrictive licence, so none of it is copied): screen luminance Y from the simple 2.4 exponent
and its own sRGB coefficients, a soft clamp near black, then separate exponents for dark text on
a light background ("normal" polarity) and light text on a dark one ("reverse"). Lc is signed as
APCA defines it: positive for dark text on a light background, negative for light on dark; |Lc|
of about 75 suits body text, 60 large text, 45 headlines (the APCA readability criterion).

`tests/unit/test_apca.py` checks these values against colorjs.io's APCA (an independent, MIT-
licensed implementation) on hundreds of thousands of colours.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

TRC: Final = 2.4  # the simple exponent APCA uses instead of the piecewise sRGB curve
COEFFICIENTS: Final = (0.2126729, 0.7151522, 0.0721750)  # sRGB -> Y, APCA's own rounding
NORMAL_BACKGROUND: Final = 0.56
NORMAL_TEXT: Final = 0.57
REVERSE_TEXT: Final = 0.62
REVERSE_BACKGROUND: Final = 0.65
BLACK_THRESHOLD: Final = 0.022  # below this Y, the soft clamp lifts luminance (flare)
BLACK_CLAMP: Final = 1.414
SCALE: Final = 1.14
LOW_OFFSET: Final = 0.027
LOW_CLIP: Final = 0.1  # |SAPC| under this is no usable contrast: Lc 0
DELTA_Y_MIN: Final = 0.0005

# Readability bands of the APCA criterion, by |Lc| of the chosen text.
BODY_TEXT_LC: Final = 75.0
LARGE_TEXT_LC: Final = 60.0
MINIMUM_TEXT_LC: Final = 45.0

# Per-channel Y contributions of every 8-bit level: a look-up instead of a power per pixel.
_LEVEL_Y = tuple(c * (np.arange(256) / 255.0) ** TRC for c in COEFFICIENTS)


def screen_luminance(rgb: npt.ArrayLike) -> FloatArray:
    """APCA's Y of (..., 3) sRGB colours, 0-255 channels (uint8 looked up, floats computed)."""
    arr = np.asarray(rgb)
    if arr.dtype == np.uint8:
        y: FloatArray = _LEVEL_Y[0][arr[..., 0]] + _LEVEL_Y[1][arr[..., 1]]
        y += _LEVEL_Y[2][arr[..., 2]]
        return y
    channels = np.clip(arr.astype(np.float64), 0.0, 255.0) / 255.0
    weights = np.asarray(COEFFICIENTS)
    computed: FloatArray = (channels**TRC) @ weights
    return computed


def _soft_clamp(y: FloatArray) -> FloatArray:
    return np.where(y > BLACK_THRESHOLD, y, y + np.abs(BLACK_THRESHOLD - y) ** BLACK_CLAMP)


def lightness_contrast(text_y: npt.ArrayLike, background_y: npt.ArrayLike) -> FloatArray:
    """Lc of text of screen luminance `text_y` on a background of `background_y` (broadcast)."""
    text = _soft_clamp(np.asarray(text_y, dtype=np.float64))
    background = _soft_clamp(np.asarray(background_y, dtype=np.float64))
    text, background = np.broadcast_arrays(text, background)
    normal = background > text
    sapc = np.where(
        normal,
        (background**NORMAL_BACKGROUND - text**NORMAL_TEXT) * SCALE,
        (background**REVERSE_BACKGROUND - text**REVERSE_TEXT) * SCALE,
    )
    lc = np.where(
        normal,
        np.where(sapc < LOW_CLIP, 0.0, sapc - LOW_OFFSET),
        np.where(sapc > -LOW_CLIP, 0.0, sapc + LOW_OFFSET),
    )
    contrast: FloatArray = np.where(np.abs(background - text) < DELTA_Y_MIN, 0.0, lc * 100.0)
    return contrast


# The text colours' own Y by the same formula (white's is 1.0000001: APCA's coefficients sum so).
BLACK_Y: Final = float(screen_luminance(np.zeros(3, dtype=np.uint8)))
WHITE_Y: Final = float(screen_luminance(np.full(3, 255, dtype=np.uint8)))


def text_lc(rgb: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Signed Lc of black text and of white text on each background colour."""
    background = screen_luminance(rgb)
    return lightness_contrast(BLACK_Y, background), lightness_contrast(WHITE_Y, background)


# Bulk scoring: Lc of black and of white text is a function of the background's Y alone, so it
# is looked up from tables over 2^16 cells of Y instead of two powers per row (built in a few
# milliseconds). Within a cell Lc moves by under 0.01; cells where it jumps (APCA's low clip and
# its minimum Y difference) or meets a readability band edge are marked, and their rows are
# computed exactly, so every band verdict is APCA's own.
_CELLS = 1 << 16
_LEVEL_Y32 = tuple(level.astype(np.float32) for level in _LEVEL_Y)


def _cell_tables() -> tuple[
    npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.bool_]
]:
    edges = np.arange(_CELLS + 2, dtype=np.float64) / _CELLS  # cell i holds [i, i+1) / _CELLS
    centres = edges[:-1] + 0.5 / _CELLS
    tables = []
    exact = np.zeros(_CELLS + 1, dtype=bool)
    for text_y in (BLACK_Y, WHITE_Y):
        at_edges = lightness_contrast(text_y, edges)
        low, high = np.minimum(at_edges[:-1], at_edges[1:]), np.maximum(at_edges[:-1], at_edges[1:])
        exact |= high - low > 0.02
        for edge in (BODY_TEXT_LC, LARGE_TEXT_LC, MINIMUM_TEXT_LC):
            for signed in (edge, -edge):
                exact |= (low <= signed + 0.01) & (high >= signed - 0.01)
        tables.append(lightness_contrast(text_y, centres).astype(np.float32))
    return tables[0], tables[1], exact


_tables: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.bool_]] | None = (
    None
)


def text_lc_float32(
    rgb: npt.NDArray[np.uint8],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """`text_lc` for (n, 3) uint8 colours in float32, within 0.01 Lc of it, and on the same side
    of each readability band edge (75, 60, 45) as the exact value."""
    global _tables
    if _tables is None:
        _tables = _cell_tables()
    on_black_table, on_white_table, exact_cells = _tables
    y = np.take(_LEVEL_Y32[0], rgb[:, 0])
    y += np.take(_LEVEL_Y32[1], rgb[:, 1])
    y += np.take(_LEVEL_Y32[2], rgb[:, 2])
    cells = np.minimum((y * np.float32(_CELLS)).astype(np.int32), _CELLS)
    on_black = np.take(on_black_table, cells)
    on_white = np.take(on_white_table, cells)
    recheck = np.flatnonzero(np.take(exact_cells, cells))
    if len(recheck):
        for exact, out in zip(text_lc(rgb[recheck]), (on_black, on_white), strict=True):
            out[recheck] = _float32_on_the_same_side(exact)
    return on_black, on_white


def _float32_on_the_same_side(lc: FloatArray) -> npt.NDArray[np.float32]:
    """Lc as float32, nudged where rounding would carry it across a band edge."""
    rounded = lc.astype(np.float32)
    for edge in (BODY_TEXT_LC, LARGE_TEXT_LC, MINIMUM_TEXT_LC):
        crossed = (np.abs(lc) < edge) & (np.abs(rounded) >= np.float32(edge))
        rounded[crossed] = np.copysign(np.nextafter(np.float32(edge), np.float32(0)), lc[crossed])
    return rounded
