"""Stylesheet themes (issue 23, item 4): every value of a property in every context, light-dark(),
color-mix(), var() in any case with nested fallbacks, and rejects that name the cycle, the
missing name and the line."""

from __future__ import annotations

import numpy as np
import pytest
from coloraide import Color

from fontpipe.color.css import parse_color
from fontpipe.palettes.named import row_rejects
from fontpipe.palettes.parse import ColorSpec, parse_colors
from fontpipe.palettes.stylesheets import custom_properties, stylesheet_colours

THEME = """\
:root { --bg: #ffffff; --fg: var(--ink); --ink: #111111; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #000000; --fg: var(--bg); }
}
.dark { --bg: #0a0a0a; }
[data-theme="ocean"] { --bg: oklch(50% 0.1 230); }
"""


def rows(tmp_path, text):
    source = tmp_path / "theme.css"
    source.write_text(text)
    found = stylesheet_colours(source)
    return found, list(zip(found.tokens, found.contexts, found.colors, strict=True))


def test_every_context_keeps_its_own_value(tmp_path):
    found, table = rows(tmp_path, THEME)
    assert [(t, c, v) for t, c, v in table if t == "--bg"] == [
        ("--bg", ":root", "#ffffff"),
        ("--bg", "@media (prefers-color-scheme: dark) :root", "#000000"),
        ("--bg", ".dark", "#0a0a0a"),
        ("--bg", '[data-theme="ocean"]', "oklch(50% 0.1 230)"),
    ]
    # var() reads its own context first, then the document-wide one.
    assert ("--fg", ":root", "#111111") in table
    assert ("--fg", "@media (prefers-color-scheme: dark) :root", "#000000") in table
    assert not found.rejects


def test_light_dark_gives_two_rows(tmp_path):
    _, table = rows(
        tmp_path, ":root { --surface: light-dark(#fafafa, VAR(--night)); --night: #111; }"
    )
    assert table[:2] == [
        ("--surface", ":root (light)", "#fafafa"),
        ("--surface", ":root (dark)", "#111"),
    ]


def test_var_in_any_case_with_nested_fallbacks(tmp_path):
    text = ":root { --a: Var(--missing, VAR(--also-missing, var(--b))); --b: #336699; }"
    _, table = rows(tmp_path, text)
    assert table[0] == ("--a", ":root", "#336699")


@pytest.mark.parametrize(
    "mix, space, weight",
    [
        ("color-mix(in srgb, red, blue)", "srgb", 0.5),
        ("color-mix(in oklch, red 30%, blue)", "oklch", 0.7),
        ("color-mix(in hsl longer hue, red, blue)", "hsl", 0.5),
        ("color-mix(red, 25% blue)", "oklab", 0.25),
    ],
)
def test_color_mix_is_computed_as_coloraide_mixes_for_css(tmp_path, mix, space, weight):
    _, table = rows(tmp_path, f":root {{ --mix: {mix}; }}")
    hue = "longer" if "longer" in mix else "shorter"
    expected = Color("red").mix("blue", weight, space=space, hue=hue, premultiplied=True)
    expected_hex = parse_color(expected.to_string(precision=12)).hex
    assert parse_color(table[0][2]).hex == expected_hex


def test_a_partial_mix_scales_alpha(tmp_path):
    _, table = rows(tmp_path, ":root { --m: color-mix(in srgb, red 20%, blue 20%); }")
    parsed = parse_color(table[0][2])
    assert parsed.alpha == pytest.approx(0.4)


def test_cycles_missing_names_and_bad_mixes_are_rejected_with_their_line(tmp_path):
    text = """\
:root {
  --a: var(--b);
  --b: var(--a);
  --gone: var(--nope);
  --mix: color-mix(in srgb, currentColor, red);
  --pct: color-mix(in srgb, red 150%, blue);
  --odd: #12345;
}
.dark { --only-dark: #222; }
[data-theme=x] { --uses: var(--only-dark); }
"""
    found, table = rows(tmp_path, text)
    reasons = {table[i][0]: reason for i, reason in found.rejects.items()}
    assert reasons == {
        "--a": "var() cycle: --a -> --b -> --a (line 2)",
        "--b": "var() cycle: --b -> --a -> --b (line 3)",
        "--gone": "var(--nope): --nope is not defined (line 4)",
        "--mix": reasons["--mix"],
        "--pct": "color-mix(): 150% is outside 0%-100% (line 6)",
        "--odd": "invalid hex colour (expected 3, 4, 6 or 8 hex digits, got 5) (line 7)",
        "--uses": "var(--only-dark): --only-dark is defined only under .dark (line 10)",
    }
    assert "'currentColor' cannot be mixed" in reasons["--mix"] and "(line 5)" in reasons["--mix"]


def test_the_readers_rejects_reach_the_parsed_rows(tmp_path):
    source = tmp_path / "theme.css"
    source.write_text(":root { --ok: #fff; --loop: var(--loop); }")
    from fontpipe.palettes.stylesheets import read_css_custom_properties

    table = read_css_custom_properties(source)
    assert row_rejects(table.schema) == {1: "var() cycle: --loop -> --loop (line 1)"}
    parsed = parse_colors(table.to_batches()[0], ColorSpec(color_column="color"), None)
    np.testing.assert_array_equal(parsed.valid, [True, False])
    assert parsed.reasons == [(1, "color", "var(--loop)", "var() cycle: --loop -> --loop (line 1)")]


def test_the_scanner_keeps_lines_and_skips_comments_and_strings(tmp_path):
    text = '/* --c: red; */\n.a { content: "}"; --x:\n  red !important }\n@layer base { :root { --y: blue } }'
    found = custom_properties(text)
    assert [(d.name, d.value, d.context, d.line, d.document_wide) for d in found] == [
        ("--x", "red", ".a", 2, False),
        ("--y", "blue", "@layer base :root", 4, True),
    ]
