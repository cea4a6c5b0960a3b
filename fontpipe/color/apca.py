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
        return y + _LEVEL_Y[2][arr[..., 2]]
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
