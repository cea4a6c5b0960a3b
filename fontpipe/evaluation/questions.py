"""The three questions a designer asks, side by side over the cube: what the browser does
(`wcag`, CSS `contrast-color()`), what the perceptual model says (`apca`), and both (`readable`,
AA kept, then APCA). A property of the rules alone, the same in every report, so it is computed
once per process."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fontpipe.color import apca
from fontpipe.color.cube import cube_colours, cube_colours_of
from fontpipe.color.rules import (
    apca_margin_from_lc,
    get_rule,
    relative_luminance,
    text_contrast,
)
from fontpipe.evaluation.metrics import HUE_BUCKETS, PER_HUE, hue_buckets
from fontpipe.schema import CUBE_SIZE, WCAG_AA_RATIO

_CHUNK = 1 << 22
SWATCHES = 12


@dataclass(frozen=True)
class QuestionSwatch:
    hex: str
    wcag: str  # the browser's answer
    readable: str
    on_black: float  # WCAG contrast of black text
    on_white: float
    lc_black: float  # APCA Lc of black text
    lc_white: float


@dataclass(frozen=True)
class RuleQuestions:
    colours: int
    both_pass_aa: int  # colours where black and white text both reach 4.5:1
    readable_differs: int  # readable answers otherwise than the browser
    apca_differs: int
    apca_loses_aa: int  # of those, where the apca answer misses AA (the other would pass)
    wcag_under_lc_60: int  # the browser's answer reads under APCA |Lc| 60
    no_lc_60: int  # neither text colour reaches |Lc| 60
    # Colours where readable and the browser differ, at most PER_HUE per hue bucket.
    swatches: tuple[QuestionSwatch, ...]


def _labels(rgb: npt.NDArray[np.uint8]) -> dict[str, npt.NDArray[np.bool_]]:
    return {name: get_rule(name).label(rgb).astype(bool) for name in ("wcag", "apca", "readable")}


@functools.cache
def rule_questions() -> RuleQuestions:
    counts = dict.fromkeys(("both", "readable", "apca", "apca_aa", "wcag_lc", "no_lc"), 0)
    differing: list[npt.NDArray[np.int64]] = []
    rng = np.random.default_rng(0)
    for start in range(0, CUBE_SIZE, _CHUNK):
        rgb = cube_colours(start, start + _CHUNK)
        luminance = relative_luminance(rgb)
        on_black, on_white = text_contrast(luminance, True), text_contrast(luminance, False)
        signed_black, signed_white = apca.text_lc_float32(rgb)
        lc_black, lc_white = np.abs(signed_black), np.abs(signed_white)
        wcag = on_black > on_white
        readable = on_white < WCAG_AA_RATIO
        apca_black = apca_margin_from_lc(rgb, signed_black, signed_white) > 0
        readable_differs = readable != wcag
        apca_differs = apca_black != wcag
        apca_contrast = np.where(apca_black, on_black, on_white)
        counts["both"] += int(np.count_nonzero(np.minimum(on_black, on_white) >= WCAG_AA_RATIO))
        counts["readable"] += int(np.count_nonzero(readable_differs))
        counts["apca"] += int(np.count_nonzero(apca_differs))
        counts["apca_aa"] += int(np.count_nonzero(apca_differs & (apca_contrast < WCAG_AA_RATIO)))
        wcag_lc = np.where(wcag, lc_black, lc_white)
        counts["wcag_lc"] += int(np.count_nonzero(wcag_lc < apca.LARGE_TEXT_LC))
        counts["no_lc"] += int(
            np.count_nonzero((lc_black < apca.LARGE_TEXT_LC) & (lc_white < apca.LARGE_TEXT_LC))
        )
        differing.append(
            hue_spread(start + np.flatnonzero(readable_differs), PER_HUE * HUE_BUCKETS, rng)
        )
    chosen = cube_colours_of(hue_spread(np.concatenate(differing), SWATCHES, rng))
    return RuleQuestions(
        colours=CUBE_SIZE,
        both_pass_aa=counts["both"],
        readable_differs=counts["readable"],
        apca_differs=counts["apca"],
        apca_loses_aa=counts["apca_aa"],
        wcag_under_lc_60=counts["wcag_lc"],
        no_lc_60=counts["no_lc"],
        swatches=tuple(_swatch(colour) for colour in chosen),
    )


def hue_spread(
    indices: npt.NDArray[np.int64], limit: int, rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """Up to `limit` of the cube colours `indices`, drawn at random within each hue bucket and at
    most PER_HUE from one: each hue's first, in hue order, then each hue's second."""
    buckets = hue_buckets(indices)
    drawn = []
    for bucket in range(HUE_BUCKETS):
        members = indices[buckets == bucket]
        drawn.append(rng.choice(members, min(len(members), PER_HUE), replace=False))
    rounds = [colours[turn : turn + 1] for turn in range(PER_HUE) for colours in drawn]
    return np.concatenate(rounds)[:limit].astype(np.int64)


def _swatch(colour: npt.NDArray[np.uint8]) -> QuestionSwatch:
    rgb = colour.reshape(1, 3)
    labels = _labels(rgb)
    luminance = relative_luminance(rgb)
    lc_black, lc_white = apca.text_lc(rgb)
    return QuestionSwatch(
        hex="#{:02x}{:02x}{:02x}".format(*colour.tolist()),
        wcag="black" if labels["wcag"][0] else "white",
        readable="black" if labels["readable"][0] else "white",
        on_black=float(text_contrast(luminance, True)[0]),
        on_white=float(text_contrast(luminance, False)[0]),
        lc_black=float(lc_black[0]),
        lc_white=float(lc_white[0]),
    )


def disagreement_planes(
    blue_levels: tuple[int, ...],
) -> list[tuple[int, npt.NDArray[np.uint8]]]:
    """Per blue level, the red-green plane as an RGB image: the real colour where readable
    answers otherwise than the browser, the real colour darkened where only apca does, light grey
    where all three agree."""
    grid_r, grid_g = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    planes = []
    for blue in blue_levels:
        background = np.stack([grid_r, grid_g, np.full_like(grid_r, blue)], -1).astype(np.uint8)
        flat = background.reshape(-1, 3)
        labels = _labels(flat)
        readable = (labels["readable"] != labels["wcag"]).reshape(256, 256)
        apca_only = ((labels["apca"] != labels["wcag"]).reshape(256, 256)) & ~readable
        image = np.full_like(background, 221)
        image[readable] = background[readable]
        image[apca_only] = background[apca_only] // 2
        planes.append((blue, image))
    return planes
