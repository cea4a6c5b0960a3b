"""The colour grammar, on its own and as the scorer applies it to tiny Arrow tables."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fontpipe.color.css import ColorSyntaxError, parse_color, parse_color_argument
from fontpipe.errors import FontpipeError
from fontpipe.palettes.parse import ColorSpec, detect_color_spec, parse_colors


def parse_table(values, column="color"):
    return parse_colors(pa.table({column: values}), ColorSpec(color_column=column), None)


@pytest.mark.parametrize(
    "text, rgb",
    [
        ("#336699", (0x33, 0x66, 0x99)),
        ("33669a", (0x33, 0x66, 0x9A)),
        ("FF8800CC", (255, 160, 51)),  # 80 % opaque over white
        ("#ABC", (0xAA, 0xBB, 0xCC)),
        ("  #abc  ", (0xAA, 0xBB, 0xCC)),
        ("rgb(10, 20, 30)", (10, 20, 30)),
        ("RGBA(10,20,30,1)", (10, 20, 30)),
        ("rgb(10 20 30)", (10, 20, 30)),
        ("rgb(10 20 30 / 100%)", (10, 20, 30)),
        ("rgb(300, 0, 0)", (255, 0, 0)),  # CSS clamps to the computed value
    ],
)
def test_known_colours(text, rgb):
    assert parse_color(text).rgb == rgb


@pytest.mark.parametrize("text", ["255,200,0", "255 200 0"])
def test_typed_triples_are_colours_at_the_prompt_only(text):
    assert parse_color_argument(text).rgb == (255, 200, 0)
    with pytest.raises(ColorSyntaxError, match="a number"):
        parse_color(text)
    with pytest.raises(FontpipeError, match="out of range"):
        parse_color_argument("300,0,0")


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "empty cell"),
        ("#12", "invalid hex colour"),
        ("#ggg", "invalid hex colour"),
        ("rgb(1, 2, 3, 4, 5)", "invalid rgb() colour"),
        ("rgb(1, 2)", "invalid rgb() colour"),
        ("rgb(1, 2 3)", "invalid rgb() colour"),
        ("hotpink-ish", "not a colour"),
    ],
)
def test_malformed_colours_have_a_reason(text, reason):
    with pytest.raises(ColorSyntaxError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_color(text)


def test_three_row_table_with_a_bad_row():
    parsed = parse_table(["#ffffff", "rgb(0 0 0)", "nope"])
    np.testing.assert_array_equal(parsed.valid, [True, True, False])
    np.testing.assert_array_equal(parsed.rgb[:2], [[255, 255, 255], [0, 0, 0]])
    assert parsed.on_grid
    assert parsed.reasons == [(2, "color", "nope", parsed.reasons[0][3])]
    assert "not a colour" in parsed.reasons[0][3]


def test_three_row_table_with_nulls_and_repeats():
    parsed = parse_table(pa.array(["#abc", None, "#abc"], type=pa.string()))
    np.testing.assert_array_equal(parsed.valid, [True, False, True])
    assert parsed.reasons == [(1, "color", "", "empty cell")]


def test_channel_columns_and_their_errors():
    table = pa.table({"R": pa.array([1, 2, 300]), "G": [0, 0, 0], "B": [0, 0, 0]})
    spec = detect_color_spec(table.column_names)
    assert spec.rgb_columns == ("R", "G", "B")
    parsed = parse_colors(table, spec, None)
    np.testing.assert_array_equal(parsed.valid, [True, True, False])
    assert "out of range" in parsed.reasons[0][3]
    floats = pa.table({"r": [0.5, 1.0, 0.0], "g": [0.0, 0.0, 0.0], "b": [0.0, 0.0, 0.0]})
    with pytest.raises(FontpipeError, match="--scale"):
        parse_colors(floats, detect_color_spec(floats.column_names), None)


_hex = st.text("0123456789abcdefABCDEF", min_size=0, max_size=8).map(lambda s: "#" + s)
_channel = st.integers(0, 300).map(str)
_rgb = st.tuples(_channel, _channel, _channel, st.sampled_from([", ", " ", ","])).map(
    lambda t: f"rgb({t[3].join(t[:3])})"
)
_noise = st.text(max_size=12)
_number = st.floats(-20, 400, allow_nan=False).map(lambda x: f"{x:.3g}")
_percent = st.floats(-10, 110, allow_nan=False).map(lambda x: f"{x:.3g}%")
_css = st.tuples(
    st.sampled_from(["hsl", "hwb", "lab", "lch", "oklab", "oklch", "rgb"]),
    st.lists(st.one_of(_number, _percent), min_size=2, max_size=4),
    st.one_of(st.just(""), _number.map(lambda a: f" / {a}"), _percent.map(lambda a: f" / {a}")),
).map(lambda t: f"{t[0]}({' '.join(t[1])}{t[2]})")
_color_fn = st.tuples(
    st.sampled_from(["srgb", "display-p3", "rec2020", "xyz", "a98-rgb", "foo"]),
    st.lists(
        st.floats(-0.5, 1.5, allow_nan=False).map(lambda x: f"{x:.3g}"), min_size=2, max_size=4
    ),
).map(lambda t: f"color({t[0]} {' '.join(t[1])})")
_names = st.sampled_from(["red", "RebeccaPurple", "transparent", "Navy", "notaname"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_hex, _rgb, _noise, _css, _color_fn, _names), min_size=1, max_size=20))
def test_the_column_parser_agrees_with_the_grammar(values):
    """One grammar: what `predict` accepts (parse_color, through parse_color_argument) is what
    `score` accepts, with the same colour, whichever path (plain-hex fast path or
    per-distinct-string) a value takes, for hex, rgb(), every CSS Color 4 function and names."""
    parsed = parse_table(values)
    for i, value in enumerate(values):
        try:
            expected = parse_color(value)
        except ColorSyntaxError:
            assert not parsed.valid[i], value
        else:
            assert parsed.valid[i], value
            assert tuple(int(c) for c in parsed.rgb[i]) == expected.rgb, value
