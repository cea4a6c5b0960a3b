"""Each rule's answer over the whole cube, computed once per process.

An evaluation runs several tables (the model, the rule, two recipes) against one rule, and each
tallies its agreement with every rule: computed per table, apca's margins alone cost 0.8 s a
pass. The margins of the rule last asked for (128 MB) are kept; labels for every rule (16 MB
each).
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

from fontpipe.color.cube import iter_cube_chunks
from fontpipe.color.rules import RULES, relative_luminance, text_contrast
from fontpipe.schema import CUBE_SIZE, WCAG_AA_RATIO


@functools.lru_cache(maxsize=1)
def cube_margins(rule_name: str) -> npt.NDArray[np.float64]:
    """The rule's signed margin of every cube colour, in cube order (read-only)."""
    rule = RULES[rule_name]
    margins = np.empty(CUBE_SIZE, dtype=np.float64)
    for start, rgb in iter_cube_chunks():
        margins[start : start + len(rgb)] = rule.margin(rgb)
    margins.flags.writeable = False
    return margins


@functools.lru_cache(maxsize=len(RULES))
def cube_labels(rule_name: str) -> npt.NDArray[np.bool_]:
    """Whether the rule says black, for every cube colour in cube order (read-only)."""
    labels = np.empty(CUBE_SIZE, dtype=bool)
    for start, rgb in iter_cube_chunks():
        labels[start : start + len(rgb)] = RULES[rule_name].margin(rgb) > 0
    labels.flags.writeable = False
    return labels


@functools.lru_cache(maxsize=1)
def cube_bands(rule_name: str) -> npt.NDArray[np.int8]:
    """Which of the rule's |margin| bands (`Rule.band_edges`) each cube colour lies in."""
    bands = np.digitize(np.abs(cube_margins(rule_name)), RULES[rule_name].band_edges)
    result = bands.astype(np.int8)
    result.flags.writeable = False
    return result


@functools.lru_cache(maxsize=1)
def cube_luminance() -> npt.NDArray[np.float64]:
    """WCAG relative luminance of every cube colour, in cube order (read-only)."""
    luminance = np.empty(CUBE_SIZE, dtype=np.float64)
    for start, rgb in iter_cube_chunks():
        luminance[start : start + len(rgb)] = relative_luminance(rgb)
    luminance.flags.writeable = False
    return luminance


@functools.lru_cache(maxsize=2)
def cube_aa(black_text: bool) -> npt.NDArray[np.bool_]:
    """Whether black (or white) text reaches WCAG AA (4.5:1) on each cube colour."""
    passes = text_contrast(cube_luminance(), black_text) >= WCAG_AA_RATIO
    passes.flags.writeable = False
    return passes
