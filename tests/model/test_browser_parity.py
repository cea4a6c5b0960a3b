"""`--rule wcag` is the browser's own answer: CSS `contrast-color()` in headless Chromium picks
the same text colour as `fontpipe score --rule wcag` on named, hsl(), oklch() and display-p3
colours, and on the sRGB colours nearest the WCAG threshold."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pytest

from fontpipe.color.cube import cube_colours
from fontpipe.color.rules import get_rule
from tests.chromium import chromium_or_skip, dump_dom

pytestmark = [pytest.mark.slow, pytest.mark.browser]

NAMED = [
    "aliceblue",
    "antiquewhite",
    "aqua",
    "aquamarine",
    "azure",
    "beige",
    "bisque",
    "blanchedalmond",
    "blue",
    "blueviolet",
    "brown",
    "burlywood",
    "cadetblue",
    "chartreuse",
    "chocolate",
    "coral",
    "cornflowerblue",
    "crimson",
    "cyan",
    "darkblue",
    "darkcyan",
    "darkgoldenrod",
    "darkgray",
    "darkgreen",
    "darkkhaki",
    "darkmagenta",
    "darkolivegreen",
    "darkorange",
    "darkorchid",
    "darkred",
    "darksalmon",
    "darkseagreen",
    "darkslateblue",
    "darkslategray",
    "darkturquoise",
    "deeppink",
    "deepskyblue",
    "dimgray",
    "dodgerblue",
    "firebrick",
    "forestgreen",
    "fuchsia",
    "gainsboro",
    "gold",
    "goldenrod",
    "gray",
    "green",
    "greenyellow",
    "hotpink",
    "indianred",
    "indigo",
    "khaki",
    "lavender",
    "lawngreen",
    "lightblue",
    "lightcoral",
    "lightgreen",
    "lightpink",
    "lightsalmon",
    "lightseagreen",
    "lightskyblue",
    "lightslategray",
    "limegreen",
    "magenta",
    "maroon",
    "mediumaquamarine",
    "mediumblue",
    "mediumorchid",
    "mediumpurple",
    "mediumseagreen",
    "mediumslateblue",
    "mediumspringgreen",
    "mediumturquoise",
    "mediumvioletred",
    "midnightblue",
    "navy",
    "olive",
    "olivedrab",
    "orange",
    "orangered",
    "orchid",
    "palegreen",
    "paleturquoise",
    "palevioletred",
    "peru",
    "pink",
    "plum",
    "powderblue",
    "purple",
    "rebeccapurple",
    "red",
    "rosybrown",
    "royalblue",
    "saddlebrown",
    "salmon",
    "sandybrown",
    "seagreen",
    "sienna",
    "silver",
    "skyblue",
    "slateblue",
    "slategray",
    "springgreen",
    "steelblue",
    "tan",
    "teal",
    "thistle",
    "tomato",
    "turquoise",
    "violet",
    "wheat",
    "yellow",
    "yellowgreen",
]


def palette() -> list[str]:
    rng = np.random.default_rng(11)
    colours = list(NAMED)
    colours += [f"hsl({h} {s}% {lum}%)" for h, s, lum in rng.integers(0, 100, (150, 3)) * [3, 1, 1]]
    colours += [
        f"oklch({lum:.3f} {c:.3f} {h:.1f})"
        for lum, c, h in zip(
            rng.random(150), rng.random(150) * 0.2, rng.random(150) * 360, strict=True
        )
    ]
    colours += [
        f"color(display-p3 {r:.3f} {g:.3f} {b:.3f})" for r, g, b in rng.random((150, 3)) * 0.98
    ]
    cube = cube_colours(0, 1 << 24)
    margin = np.abs(get_rule("wcag").margin(cube))
    nearest = cube[np.argpartition(margin, 1500)[:1500]]
    colours += ["#{:02x}{:02x}{:02x}".format(*rgb) for rgb in nearest]
    return colours


def browser_answers(colours: list[str], tmp_path: Path) -> list[str]:
    rows = "".join(
        f'<div style="background:{html.escape(c)};color:contrast-color({html.escape(c)})">x</div>'
        for c in colours
    )
    page = tmp_path / "contrast.html"
    page.write_text(
        f"<!doctype html><html><body>{rows}<script>"
        "for (const d of document.querySelectorAll('div')) d.dataset.text = getComputedStyle(d).color;"
        "</script></body></html>"
    )
    dom = dump_dom(page, tmp_path / "profile")
    found = re.findall(r'data-text="rgb\((\d+), (\d+), (\d+)\)"', dom)
    assert len(found) == len(colours)
    return ["black" if triple == ("0", "0", "0") else "white" for triple in found]


def test_wcag_answers_as_contrast_color_does(exact_model, tmp_path):
    chromium_or_skip()
    colours = palette()
    source = tmp_path / "palette.csv"
    source.write_text("color\n" + "\n".join(f'"{c}"' for c in colours) + "\n")
    out = tmp_path / "scored.csv"
    fontpipe = Path(sys.executable).with_name("fontpipe")
    model = exact_model("wcag").path
    done = subprocess.run(
        [str(fontpipe), "score", str(source), "--out", str(out), "--model", str(model)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    ours = pacsv.read_csv(out).column("text_color").to_pylist()
    theirs = browser_answers(colours, tmp_path)
    differ = [(c, a, b) for c, a, b in zip(colours, ours, theirs, strict=True) if a != b]
    assert not differ, differ[:20]
    assert len(colours) > 2_000 and {"black", "white"} <= set(ours)
