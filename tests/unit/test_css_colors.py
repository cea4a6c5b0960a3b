"""CSS Color 4 notations: known values from the specification's worked examples (the same dark
red written six ways) and ColorAide's documented conversions, gamut mapping, alpha."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from fontpipe.color.css import ColorSyntaxError, parse_color
from fontpipe.palettes.parse import ColorSpec, parse_colors


@pytest.mark.parametrize(
    "text, hex_value",
    [
        ("rebeccapurple", "#663399"),
        ("RED", "#ff0000"),
        ("#0f0", "#00ff00"),
        ("#00ff00ff", "#00ff00"),
        ("rgb(10% 20% 30%)", "#1a334c"),
        ("rgba(10, 20, 30, 1)", "#0a141e"),
        ("hsl(120 100% 25%)", "#008000"),  # CSS Color 4: hsl(120deg 100% 25%) is #008000
        ("hsla(120, 100%, 25%, 1)", "#008000"),
        ("hwb(120 0% 50%)", "#008000"),
        # CSS Color 4 section 9 writes one dark red in each Lab-family notation:
        ("lab(29.2345% 39.3825 20.0664)", "#7d2329"),
        ("lch(29.2345% 44.2 27)", "#7d2329"),
        ("oklab(40.101% 0.1147 0.0453)", "#7d2329"),
        ("oklch(40.101% 0.12332 21.555)", "#7d2329"),
        ("color(srgb 0.5 0 1)", "#8000ff"),
        ("color(srgb-linear 0.214 0.214 0.214)", "#7f7f7f"),
        ("color(display-p3 1 1 1)", "#ffffff"),
        ("color(a98-rgb 1 1 1)", "#ffffff"),
        ("color(prophoto-rgb 1 1 1)", "#ffffff"),
        ("color(rec2020 1 1 1)", "#ffffff"),
        ("color(xyz 0.9505 1 1.089)", "#ffffff"),
        ("color(xyz-d50 0.9642 1 0.8251)", "#ffffff"),
        # Tailwind CSS v4's red-500, which its documentation lists as #fb2c36:
        ("oklch(63.7% 0.237 25.331)", "#fb2c36"),
    ],
)
def test_each_notation_gives_its_known_srgb(text, hex_value):
    parsed = parse_color(text)
    assert parsed.hex == hex_value and not parsed.gamut_mapped and parsed.alpha == 1


def test_out_of_gamut_colours_are_mapped_not_clipped():
    from coloraide import Color

    wide = "oklch(90% 0.4 140)"  # far outside sRGB
    parsed = parse_color(wide)
    clipped = Color(wide).convert("srgb").clip().to_string(hex=True)
    assert parsed.gamut_mapped and parsed.hex != clipped
    # Chroma reduction keeps the hue; clipping each channel shifts it.
    hue = Color(parsed.hex).convert("oklch")["hue"]
    clipped_hue = Color(clipped).convert("oklch")["hue"]
    assert abs(hue - 140) < abs(clipped_hue - 140)
    p3_red = parse_color("color(display-p3 1 0 0)")
    assert p3_red.gamut_mapped and p3_red.rgb[0] == 255 and p3_red.rgb[1] > 0


@pytest.mark.parametrize(
    "text, backdrop, expected",
    [
        ("rgb(0 0 0 / 50%)", (255, 255, 255), (128, 128, 128)),
        ("rgb(0 0 0 / 50%)", (0, 0, 0), (0, 0, 0)),
        ("#ffffff80", (0, 0, 0), (128, 128, 128)),
        ("hsl(0 100% 50% / 0.25)", (255, 255, 255), (255, 191, 191)),
    ],
)
def test_alpha_is_composited_over_the_backdrop(text, backdrop, expected):
    parsed = parse_color(text, backdrop)
    assert parsed.rgb == expected and parsed.alpha < 1


@pytest.mark.parametrize(
    "text, notation",
    [
        ("oklch(70% 0.1)", "oklch()"),
        ("hsl(10deg 50%)", "hsl()"),
        ("color(foo 1 2 3)", "color()"),
        ("#ggg", "hex"),
        ("#12345", "hex"),
        ("lab(50%)", "lab()"),
        ("hwb(120 10%)", "hwb()"),
        ("wibble(1 2 3)", "wibble()"),
        ("notacolourname", "not a colour"),
        ("transparent", "transparent"),
        ("#ff000000", "transparent"),
    ],
)
def test_malformed_forms_are_rejected_naming_the_notation(text, notation):
    with pytest.raises(ColorSyntaxError) as error:
        parse_color(text)
    assert notation in str(error.value)


def test_a_three_row_table_of_css_colours():
    table = pa.table({"color": ["oklch(90% 0.4 140)", "#ff000080", "hsl(10deg 50%)"]})
    parsed = parse_colors(table, ColorSpec(color_column="color"), None, (0, 0, 0))
    np.testing.assert_array_equal(parsed.valid, [True, True, False])
    np.testing.assert_array_equal(parsed.gamut_mapped, [True, False, False])
    np.testing.assert_array_equal(parsed.translucent, [False, True, False])
    assert tuple(parsed.rgb[1]) == (128, 0, 0)  # half red over the black backdrop
    assert "hsl()" in parsed.reasons[0][3]


def test_vectorised_gamut_mapping_gives_coloraides_bytes_for_every_space():
    """The batched CSS gamut mapping and ColorAide's `oklch-chroma` fit, colour by colour, agree
    to the byte on random colours from every wide-gamut notation the grammar accepts."""
    from coloraide import Color

    from fontpipe.color.css import parse_color_strings

    rng = np.random.default_rng(4)
    texts = []
    for _ in range(400):
        light, c, h = rng.uniform(0, 1.02), rng.uniform(0, 0.45), rng.uniform(0, 360)
        texts.append(f"oklch({light:.4f} {c:.4f} {h:.2f})")
        r, g, b = rng.uniform(-0.1, 1.1, 3)
        texts.append(f"color(display-p3 {r:.4f} {g:.4f} {b:.4f})")
        texts.append(f"color(rec2020 {r:.4f} {g:.4f} {b:.4f})")
        texts.append(f"lch({light * 100:.2f}% {c * 330:.2f} {h:.2f})")
    parsed = parse_color_strings(texts)
    assert parsed.valid.all() and parsed.gamut_mapped.sum() > 800
    for i, text in enumerate(texts):
        color = Color(text)
        if color.space() in ("oklch", "lch"):  # CSS clamps lightness before gamut mapping
            top = 1.0 if color.space() == "oklch" else 100.0
            color["lightness"] = min(color["lightness"], top)
        srgb = color.convert("srgb")
        if not srgb.in_gamut(tolerance=0.5 / 255):
            srgb.fit("srgb", method="oklch-chroma")
        expected = [round(min(max(float(c), 0.0), 1.0) * 255) for c in srgb.coords(nans=False)]
        assert parsed.rgb[i].tolist() == expected, text


# Issue 23, item 6: out-of-range values are clamped as CSS clamps them to the computed value,
# before gamut mapping (Chromium agrees: tests/unit/test_browser_colors.py).
@pytest.mark.parametrize(
    "text, hex_value",
    [
        ("rgb(0 0 1000.5)", "#0000ff"),
        ("rgb(0% 0% 200%)", "#0000ff"),
        ("rgb(100, 200, 300)", "#64c8ff"),
        ("rgb(-5 300 0)", "#00ff00"),
        ("hsl(0 100% 1e999%)", "#ffffff"),
        ("hsl(0 100% 150%)", "#ffffff"),
        ("hsl(0 -50% 50%)", "#808080"),
        ("hsl(200 150% 40%)", "#0088cc"),
        ("hwb(200 -20% 10%)", "#0099e6"),
        ("lab(1e999 0 0)", "#ffffff"),
        ("lab(150 0 0)", "#ffffff"),
        ("lab(-10 0 0)", "#000000"),
        ("oklch(150% 0 0)", "#ffffff"),
        ("lch(50% -10 20)", "#777777"),
        ("rgb(none 0 0)", "#000000"),
        ("hsl(none 100% 50%)", "#ff0000"),
        ("lch(50 30 none)", "#a66278"),
        ("color(srgb none 1 0)", "#00ff00"),
        ("hsl(1e999 100% 50%)", "#ff0000"),
        ("rgb(0 0 0 / 200%)", "#000000"),
    ],
)
def test_out_of_range_components_are_clamped_as_css_computes_them(text, hex_value):
    parsed = parse_color(text)
    assert parsed.hex == hex_value and parsed.alpha == 1 and not parsed.gamut_mapped


@pytest.mark.parametrize("text", ["rgb(0 0 0 / none)", "oklch(50% 0.1 30 / none)"])
def test_a_none_alpha_is_zero_and_so_rejected(text):
    with pytest.raises(ColorSyntaxError, match="fully transparent"):
        parse_color(text)


def test_an_unbounded_infinite_component_is_rejected():
    with pytest.raises(ColorSyntaxError, match="infinite"):
        parse_color("lab(50 1e999 0)")
