"""Quick look-ups for a handful of colours typed by a person."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from fontpipe.errors import FontpipeError
from fontpipe.rules import text_contrast_ratio

_HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")
_TRIPLE = re.compile(
    r"^(?:rgba?\()?\s*(\d{1,3})\s*[, ]\s*(\d{1,3})\s*[, ]\s*(\d{1,3})\s*(?:,\s*[\d.]+%?\s*)?\)?$",
    re.IGNORECASE,
)


def parse_color_argument(text: str) -> tuple[int, int, int]:
    value = text.strip()
    match = _HEX.match(value)
    if match:
        digits = match.group(1)
        if len(digits) == 3:
            digits = "".join(c * 2 for c in digits)
        return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)
    match = _TRIPLE.match(value)
    if match:
        channels = tuple(int(g) for g in match.groups())
        if any(c > 255 for c in channels):
            raise FontpipeError(f"{text!r}: channels run 0-255")
        return channels  # type: ignore[return-value]
    raise FontpipeError(f"{text!r}: not a colour; use #rrggbb, #rgb, r,g,b or rgb(r, g, b)")


def predict_colors(version_path: Path, colours: list[tuple[int, int, int]]) -> list[dict[str, Any]]:
    from fontpipe.score import Scorer

    scorer = Scorer(version_path)
    rgb = np.asarray(colours, dtype=np.uint8).reshape(-1, 3)
    p_black = scorer.p_black(rgb.astype(np.float32), on_grid=True)
    black = p_black > 0.5
    contrast = text_contrast_ratio(rgb, black)
    return [
        {
            "rgb": tuple(int(c) for c in rgb[i]),
            "p_black": float(p_black[i]),
            "text_color": "black" if black[i] else "white",
            "contrast_ratio": float(contrast[i]),
        }
        for i in range(len(rgb))
    ]
