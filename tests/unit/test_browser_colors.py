"""The colour grammar against the browser (issue 23, items 4 and 6): what headless Chromium paints
for each CSS colour string is what fontpipe scores, out-of-range and `none` values included, and
a stylesheet's var(), light-dark() and color-mix() rows match the backgrounds Chromium computes.

Chromium runs as `tests/model/test_evaluate_version.py` runs it (the same flags, `--dump-dom`):
a page paints each colour on a canvas and writes the pixels into the DOM it dumps.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess

import pytest

from fontpipe.color.css import ColorSyntaxError, parse_color
from fontpipe.palettes.stylesheets import stylesheet_colours
from tests.chromium import HEADLESS

pytestmark = pytest.mark.browser


# Each string, as Chromium is given it. Values in sRGB's gamut: a canvas clips what is outside,
# where CSS (and fontpipe) map the gamut, so only in-gamut colours compare byte for byte.
CLAMPED = [
    "rgb(0 0 1000.5)",
    "rgb(0% 0% 200%)",
    "rgb(100, 200, 300)",
    "rgb(-5 300 0)",
    "hsl(0 100% 150%)",
    "hsl(0 -50% 50%)",
    "hsl(200 150% 40%)",
    "hwb(200 -20% 10%)",
    "hwb(200 150% 10%)",
    "lab(1e999 0 0)",
    "lab(150 0 0)",
    "lab(-10 0 0)",
    "oklch(150% 0 0)",
    "lch(50% -10 20)",
    "oklch(60% -0.1 30)",
    "rgb(none 0 0)",
    "hsl(none 100% 50%)",
    "lch(50 30 none)",
    "color(srgb none 1 0)",
    "hsl(1e999 100% 50%)",
    "rgb(0 0 0 / 200%)",
    "rgb(10 20 30 / 0.5)",
    "rgb(0 0 0 / none)",
    "oklch(50% 0.1 30 / none)",
    "transparent",
]
# Chromium 156 reads an infinite hsl() lightness as NaN and paints cyan; CSS clamps lightness to
# 100 %, which is white. fontpipe follows the specification: compared with the clamped form.
SPEC_OVER_CHROMIUM = {"hsl(0 100% 1e999%)": "hsl(0 100% 100%)"}

PAGE = """<!doctype html><html><head><style>{css}</style></head><body>{elements}
<canvas id=c width=1 height=1></canvas>
<script>
const ctx = document.getElementById("c").getContext("2d", {{willReadFrequently: true}});
function paint(value) {{
  ctx.clearRect(0, 0, 1, 1);
  ctx.fillStyle = "#010203";  // left in place when the value is no colour
  ctx.fillStyle = value;
  ctx.fillRect(0, 0, 1, 1);
  return [CSS.supports("color", value), Array.from(ctx.getImageData(0, 0, 1, 1).data)];
}}
const colours = {values}.map(paint);
const probes = [...document.querySelectorAll("[data-probe]")].map(
  e => paint(getComputedStyle(e).backgroundColor));
document.body.setAttribute("data-out", JSON.stringify({{colours, probes}}));
</script></body></html>"""


def _chromium() -> str | None:
    return shutil.which("chromium")


def painted(tmp_path, values, css="", elements=""):
    """(supported, [r, g, b, a]) per value, and per `data-probe` element its background."""
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium installed (.ci/run installs it)")
    page = tmp_path / "colours.html"
    page.write_text(PAGE.format(css=css, elements=elements, values=json.dumps(values)))
    flags = [*HEADLESS, f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000"]
    done = subprocess.run(
        [browser, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'data-out="([^"]*)"', done.stdout)
    assert found, done.stdout[-2000:]
    return json.loads(html.unescape(found.group(1)))


def over_white(pixel):
    *rgb, alpha = pixel
    return tuple(round(c * alpha / 255 + 255 * (1 - alpha / 255)) for c in rgb)


def assert_same_colour(text, supported_and_pixel, where=""):
    supported, pixel = supported_and_pixel
    text_where = f"{text} {where}".strip()
    assert supported, f"Chromium does not take {text_where}"
    try:
        ours = parse_color(text).rgb
    except ColorSyntaxError as exc:
        assert pixel[3] == 0, f"{text_where}: rejected ({exc}), Chromium paints {pixel}"
        return
    assert pixel[3] > 0, f"{text_where}: Chromium paints nothing, fontpipe scores {ours}"
    browser = over_white(pixel)
    worst = max(abs(a - b) for a, b in zip(ours, browser, strict=True))
    assert worst <= 1, f"{text_where}: fontpipe {ours}, Chromium {browser}"


def test_clamped_and_none_components_match_chromium(tmp_path):
    given = CLAMPED + list(SPEC_OVER_CHROMIUM.values())
    result = painted(tmp_path, given)["colours"]
    for text, outcome in zip(given, result, strict=True):
        assert_same_colour(text, outcome)
    for ours, clamped in SPEC_OVER_CHROMIUM.items():
        assert parse_color(ours).rgb == parse_color(clamped).rgb


THEME = """
:root { --ink: #1e293b; --paper: light-dark(#f8fafc, var(--ink));
  --fg: VAR(--missing, var(--ink)); --mix: color-mix(in srgb, var(--ink) 40%, white);
  --hue: color-mix(in hsl longer hue, red, blue); --ok: color-mix(#123456, 25% white);
  --partial: color-mix(in srgb, red 30%, blue 20%); }
.dark { --ink: #e2e8f0; --fg: var(--ink); }
[data-theme="sea"] { --fg: hsl(190 70% 35%); }
"""


def test_stylesheet_rows_match_the_backgrounds_chromium_computes(tmp_path):
    source = tmp_path / "theme.css"
    source.write_text(THEME)
    found = stylesheet_colours(source)
    assert not found.rejects
    rows = list(zip(found.tokens, found.contexts, found.colors, strict=True))
    elements = []
    for token, context, _ in rows:
        scheme = "dark" if context.endswith("(dark)") else "light"
        probe = f'data-probe style="color-scheme: {scheme}; background-color: var({token})"'
        if context.startswith(".dark"):
            elements.append(f'<div class="dark"><p {probe}></p></div>')
        elif context.startswith("[data-theme"):
            elements.append(f'<div data-theme="sea"><p {probe}></p></div>')
        else:
            elements.append(f"<p {probe}></p>")
    result = painted(tmp_path, [], css=THEME, elements="".join(elements))["probes"]
    assert len(result) == len(rows) == 11
    for (token, context, colour), outcome in zip(rows, result, strict=True):
        assert_same_colour(colour, outcome, where=f"{token} in {context}")
