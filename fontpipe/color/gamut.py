"""CSS Color 4 gamut mapping into sRGB, for many colours at once.

The algorithm is the CSS specification's binary search on OkLCh chroma (MINDE, deltaEOK JND
0.02), step for step as ColorAide's `oklch-chroma` fit runs it, with ColorAide's own conversion
matrices. Why not call ColorAide per colour: it maps one colour at a time in pure Python (some 30
conversions each), and the same search over numpy arrays does a whole palette at once
(`bench/engines.py`, docs/bench.md). Results are checked against ColorAide's in
`tests/unit/test_css_colors.py`.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

JND = 0.02  # deltaEOK below which a clipped colour is as good as the mapped one
_EPSILON = 0.0001  # how close under the JND the search may stop (ColorAide's calc_epsilon)
_MIN_CONVERGENCE = 0.0001  # chroma interval at which the search stops

Floats = npt.NDArray[np.float64]


@functools.cache
def _matrices() -> dict[str, Floats]:
    from coloraide.cat import WHITES
    from coloraide.spaces import oklab, srgb_linear
    from coloraide.util import xy_to_xyz

    return {
        "oklab_to_lms3": np.array(oklab.OKLAB_TO_LMS3),
        "lms_to_xyz": np.array(oklab.LMS_TO_XYZD65),
        "xyz_to_lms": np.array(oklab.XYZD65_TO_LMS),
        "lms3_to_oklab": np.array(oklab.LMS3_TO_OKLAB),
        "xyz_to_rgb": np.array(srgb_linear.XYZ_TO_RGB),
        "rgb_to_xyz": np.array(srgb_linear.RGB_TO_XYZ),
        "white": np.array(xy_to_xyz(WHITES["2deg"]["D65"])),
    }


def oklab_to_srgb(lab: Floats) -> Floats:
    """(n, 3) Oklab -> gamma-encoded sRGB in 0-1 where in gamut, unclipped."""
    m = _matrices()
    lms = (lab @ m["oklab_to_lms3"].T) ** 3
    linear = lms @ m["lms_to_xyz"].T @ m["xyz_to_rgb"].T
    size = np.abs(linear)
    encoded = np.where(size > 0.0031308, 1.055 * size ** (1 / 2.4) - 0.055, 12.92 * size)
    srgb: Floats = np.copysign(encoded, linear)
    return srgb


def srgb_to_oklab(rgb: Floats) -> Floats:
    """(n, 3) gamma-encoded sRGB -> Oklab."""
    m = _matrices()
    size = np.abs(rgb)
    linear = np.copysign(
        np.where(size > 0.04045, ((size + 0.055) / 1.055) ** 2.4, size / 12.92), rgb
    )
    lms = linear @ m["rgb_to_xyz"].T @ m["xyz_to_lms"].T
    lab: Floats = np.cbrt(lms) @ m["lms3_to_oklab"].T
    return lab


def _white_lightness() -> float:
    m = _matrices()
    return float((np.cbrt(m["xyz_to_lms"] @ m["white"]) @ m["lms3_to_oklab"].T)[0])


def map_into_srgb(lab: Floats) -> Floats:
    """(n, 3) Oklab colours -> sRGB in 0-1: in-gamut colours as they are, the others mapped by
    chroma reduction in OkLCh until clipping is within the JND."""
    lab = np.asarray(lab, dtype=np.float64).reshape(-1, 3)
    srgb = oklab_to_srgb(lab)
    result = np.clip(srgb, 0.0, 1.0)
    outside = np.flatnonzero(~np.all((srgb >= 0) & (srgb <= 1), axis=1))
    if not len(outside):
        return result
    lightness = lab[outside, 0]
    chroma = np.hypot(lab[outside, 1], lab[outside, 2])
    hue = np.arctan2(lab[outside, 2], lab[outside, 1])
    max_light = _white_lightness()
    white = (lightness >= max_light) | np.isclose(lightness, max_light, rtol=0, atol=1e-6)
    black = ~white & (lightness <= 0)
    result[outside[white]] = 1.0
    result[outside[black]] = 0.0
    search = ~(white | black)
    clipped = result[outside]
    de = np.linalg.norm(lab[outside] - srgb_to_oklab(clipped), axis=1)
    active = search & (de > JND)
    low = np.zeros(len(outside))
    high = chroma.copy()
    lower_in_gamut = np.ones(len(outside), dtype=bool)
    while True:
        active &= (high - low) > _MIN_CONVERGENCE
        rows = np.flatnonzero(active)
        if not len(rows):
            break
        value = (high[rows] + low[rows]) * 0.5
        candidate = np.stack(
            [lightness[rows], value * np.cos(hue[rows]), value * np.sin(hue[rows])], axis=1
        )
        trial = oklab_to_srgb(candidate)
        in_gamut = np.all((trial >= 0) & (trial <= 1), axis=1)
        raise_low = lower_in_gamut[rows] & in_gamut
        low[rows[raise_low]] = value[raise_low]
        out = ~raise_low
        out_rows = rows[out]
        fitted = np.clip(trial[out], 0.0, 1.0)
        clipped[out_rows] = fitted
        de = np.linalg.norm(candidate[out] - srgb_to_oklab(fitted), axis=1)
        under = de < JND
        done = under & ((JND - de) < _EPSILON)
        active[out_rows[done]] = False
        tune = under & ~done
        lower_in_gamut[out_rows[tune]] = False
        low[out_rows[tune]] = value[out][tune]
        high[out_rows[~under]] = value[out][~under]
    result[outside[search]] = clipped[search]
    return result
