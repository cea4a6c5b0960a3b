"""Quick look-ups for a handful of colours typed by a person.

Start-up is part of the interface here: this imports numpy, not pydantic, Arrow, Keras or the
scoring package. The version is opened by `registry.lookup`, which makes every check the registry
makes without pydantic, and by the registry itself (`champions`, `versions`) whenever the lookup
cannot say: to refuse a damaged version with the registry's own error, or to build a missing cube
table. The cube table is memory-mapped, so one look-up reads a few pages of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fontpipe.color import apca
from fontpipe.color.css import RGB, WHITE, parse_color_argument
from fontpipe.color.cube import lookup_p_black
from fontpipe.color.rules import text_contrast_ratio
from fontpipe.registry.lookup import quick_cube_table, quick_version_path
from fontpipe.schema import (
    WCAG_AA_RATIO,
    WCAG_AAA_RATIO,
    WCAG_LARGE_RATIO,
    black_text,
    text_color_name,
)

if TYPE_CHECKING:
    from fontpipe.color.cube import CubeTable


@dataclass(frozen=True)
class Prediction:
    text: str  # the colour as given
    rgb: RGB
    p_black: float
    text_color: str
    contrast_ratio: float  # of the chosen text
    contrast_black: float
    contrast_white: float
    apca_lc_black: float  # signed APCA Lc of black text on the colour
    apca_lc_white: float  # and of white text (negative: light text on a darker background)

    @property
    def wcag_aa(self) -> bool:
        return self.contrast_ratio >= WCAG_AA_RATIO

    @property
    def wcag_aaa(self) -> bool:
        return self.contrast_ratio >= WCAG_AAA_RATIO

    @property
    def wcag_aa_large(self) -> bool:
        """3:1: AA for large text (SC 1.4.3)."""
        return self.contrast_ratio >= WCAG_LARGE_RATIO

    @property
    def wcag_non_text(self) -> bool:
        """3:1: a UI component or graphic in the chosen colour on this one (SC 1.4.11)."""
        return self.contrast_ratio >= WCAG_LARGE_RATIO

    @property
    def apca_lc(self) -> float:
        """|Lc| of the chosen text."""
        return abs(self.apca_lc_black if self.text_color == "black" else self.apca_lc_white)

    @property
    def hex(self) -> str:
        return "#{:02x}{:02x}{:02x}".format(*self.rgb)


def answering_version(reference: str, models_dir: Path, rule: str | None) -> Path:
    """The version directory that answers: `champion` (of `rule`), a version name, or a version
    directory, as `champions.resolve_model` resolves it."""
    found = quick_version_path(reference, models_dir, rule)
    if found is not None:
        return found
    # pydantic and the registry's models load only here: a legacy pointer, a store, or an error.
    from fontpipe.registry.champions import resolve_model

    return resolve_model(reference, models_dir, rule)


def cube_table(version_path: Path) -> CubeTable:
    """The version's verified cube table."""
    table = quick_cube_table(version_path)
    if table is not None:
        return table
    # The registry's own path (pydantic, and Keras to build a table) only when the lookup cannot
    # answer: it refuses a damaged version with its error, or builds a missing or unmatched table.
    from fontpipe.registry.versions import ensure_cube_table, open_version

    return ensure_cube_table(open_version(version_path))


def predict_colors(version_path: Path, texts: list[str], backdrop: RGB = WHITE) -> list[Prediction]:
    """Parse each colour with the one grammar (translucent ones composited over `backdrop`),
    then answer from the version's cube table."""
    colours = [parse_color_argument(text, backdrop).rgb for text in texts]
    return answer_colors(cube_table(version_path), texts, colours)


def answer_colors(table: CubeTable, texts: list[str], colours: list[RGB]) -> list[Prediction]:
    """The answers for parsed colours (`texts` as given, `colours` parsed) from a cube table:
    a loop that answers line by line opens the table once."""
    rgb = np.asarray(colours, dtype=np.uint8).reshape(-1, 3)
    p_black = lookup_p_black(table, rgb)
    black = black_text(p_black)
    on_black = text_contrast_ratio(rgb, True)
    on_white = text_contrast_ratio(rgb, False)
    lc_black, lc_white = apca.text_lc(rgb)
    return [
        Prediction(
            text=text,
            rgb=colour,
            p_black=float(p_black[i]),
            text_color=text_color_name(bool(black[i])),
            contrast_ratio=float(on_black[i] if black[i] else on_white[i]),
            contrast_black=float(on_black[i]),
            contrast_white=float(on_white[i]),
            apca_lc_black=float(lc_black[i]),
            apca_lc_white=float(lc_white[i]),
        )
        for i, (text, colour) in enumerate(zip(texts, colours, strict=True))
    ]
