"""Column names, label meanings and text-colour names, declared once for every stage.

Imports nothing heavy: quick look-ups read it. The Arrow schema of a dataset file lives with the
module that writes those files (`fontpipe.data.datasets`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Literal

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

# The rule a dataset is labelled by when none is named: the original question's.
DEFAULT_RULE: Final = "mean"
# The rule whose champion answers look-ups and scoring when none is named: readable. It keeps WCAG
# AA wherever AA is possible, as the browser's contrast-color() (the wcag rule) does, and where
# both black and white pass it picks the one APCA finds stronger (the mean rule picks text under
# AA for a fifth of all colours).
DEFAULT_ANSWER_RULE: Final = "readable"
RULE_NAMES: Final = ("mean", "wcag", "yiq", "apca", "readable")
# A family of human labels (`fontpipe import-labels`) is a rule named `human:<name>`.
HUMAN_PREFIX: Final = "human:"

# Colour channels, 0-255. uint8 for integer sampling, float32 for the original question's
# continuous sampling.
CHANNELS: Final = ("r", "g", "b")
LABEL: Final = "label"
SPLIT: Final = "split"

# label == 1 means black text reads best on that background, 0 means white text.
BLACK: Final = 1
WHITE: Final = 0
TEXT_COLOR_NAMES: Final = {BLACK: "black", WHITE: "white"}
# Indexed by `p_black > 0.5`: position 0 is white text, 1 black text (dictionary order in output).
TEXT_COLORS_BY_DECISION: Final = (TEXT_COLOR_NAMES[WHITE], TEXT_COLOR_NAMES[BLACK])


def black_text(p_black: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.bool_]:
    """The decision from P(black): black text strictly above one half. The one place it is made."""
    decision: npt.NDArray[np.bool_] = p_black > 0.5
    return decision


def text_color_name(black: bool) -> str:
    return TEXT_COLOR_NAMES[BLACK if black else WHITE]


Split = Literal["train", "val", "test"]
SPLITS: Final[tuple[Split, ...]] = ("train", "val", "test")
# A dataset's record of its files, written last (fontpipe.data.datasets).
MANIFEST: Final = "manifest.json"

Sampling = Literal["uniform-int", "uniform-float", "boundary", "cube"]
SAMPLINGS: Final[tuple[Sampling, ...]] = ("uniform-int", "uniform-float", "boundary", "cube")

# The 24-bit cube, indexed r<<16 | g<<8 | b.
CUBE_SIZE: Final = 1 << 24

# Scoring output columns.
P_BLACK: Final = "p_black"
TEXT_COLOR: Final = "text_color"
CONTRAST_RATIO: Final = "contrast_ratio"
WCAG_AA: Final = "wcag_aa"
MODEL_VERSION: Final = "model_version"
# Both text colours' contrast on the background, AAA for the chosen one (7:1), and a warning:
# the chosen text fails AA while the other colour would pass (possible under mean and yiq).
CONTRAST_BLACK: Final = "contrast_black"
CONTRAST_WHITE: Final = "contrast_white"
WCAG_AAA: Final = "wcag_aaa"
OTHER_PASSES_AA: Final = "other_passes_aa"
WCAG_AAA_RATIO: Final = 7.0
# 3:1, the least WCAG 2 asks: of large text (AA, SC 1.4.3: 18 pt, or 14 pt bold) and of user
# interface components and graphical objects (SC 1.4.11 non-text contrast), here drawn in the
# chosen text colour on the background. The same number answers both, each under its own name.
WCAG_AA_LARGE: Final = "wcag_aa_large"
WCAG_NON_TEXT: Final = "wcag_non_text"
WCAG_LARGE_RATIO: Final = 3.0
# For CSS colour strings: the sRGB colour actually scored (after gamut mapping and compositing
# over the backdrop), and whether the colour lay outside sRGB.
SRGB_HEX: Final = "srgb_hex"
GAMUT_MAPPED: Final = "gamut_mapped"
WCAG_AA_RATIO: Final = 4.5
# APCA lightness contrast (signed Lc, as APCA defines it) of black and of white text, and the
# APCA readability bands the chosen text reaches: body text |Lc| >= 75, large text >= 60,
# minimum (headlines, non-text) >= 45.
APCA_LC_BLACK: Final = "apca_lc_black"
APCA_LC_WHITE: Final = "apca_lc_white"
APCA_BODY: Final = "apca_body"
APCA_LARGE: Final = "apca_large"
APCA_MIN: Final = "apca_min"


def human_rule(name: str) -> str:
    """The registry family of a human-label dataset: `human:<name>`."""
    return HUMAN_PREFIX + name


def is_human_rule(rule: str) -> bool:
    return rule.startswith(HUMAN_PREFIX)
