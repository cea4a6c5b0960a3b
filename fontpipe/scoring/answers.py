"""A score job's rows as the front-end outputs (stylesheet, design tokens, the audit page) read
them: one `Answer` per row of the job's view (`fontpipe.scoring.view`), and how a contrast is
written and graded for people."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

from fontpipe.schema import WCAG_AA_RATIO, WCAG_AAA_RATIO, WCAG_LARGE_RATIO


@dataclass(frozen=True)
class Answer:
    """One scored row as these outputs need it."""

    source: str
    row: int
    token: str | None
    name: str | None
    context: str | None
    theme: str | None
    hex: str  # the background as scored, #rrggbb
    black: bool  # the chosen text colour
    contrast_black: float
    contrast_white: float

    @property
    def chosen(self) -> float:
        return self.contrast_black if self.black else self.contrast_white

    @property
    def base_name(self) -> str:
        """The name the output's entry is made from (not yet escaped or made unique)."""
        if self.token:
            base = self.token[2:] if self.token.startswith("--") else self.token.replace(".", "-")
            if base:
                return base
        if self.name:
            return self.name
        return self.hex.lstrip("#")


def answers(view: pa.Table) -> Iterator[Answer]:
    """The view's rows, in order."""
    for batch in view.to_batches():
        columns = batch.to_pydict()
        for i in range(batch.num_rows):
            yield Answer(
                source=columns["source"][i],
                row=columns["row"][i],
                token=columns["token"][i],
                name=columns["name"][i],
                context=columns["context"][i],
                theme=columns["theme"][i],
                hex=columns["hex"][i],
                black=columns["black"][i],
                contrast_black=columns["contrast_black"][i],
                contrast_white=columns["contrast_white"][i],
            )


def ratio_text(contrast: float) -> str:
    """A contrast to 2 places, cut rather than rounded: 4.499 reads 4.49:1, never the 4.50:1
    its verdict missed."""
    return f"{math.floor(contrast * 100 + 1e-9) / 100:.2f}:1"


def wcag_level(contrast: float) -> int:
    """0: under 3:1; 1: 3:1 (large text, non-text); 2: AA 4.5:1; 3: AAA 7:1."""
    return sum(contrast >= t for t in (WCAG_LARGE_RATIO, WCAG_AA_RATIO, WCAG_AAA_RATIO))
