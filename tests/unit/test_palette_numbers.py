"""Numbers are not colours (issue 23, item 3): not as hex digits, not as an rgb triple, in a
text column, an integer column, a design token or a custom property."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from fontpipe.color.css import ColorSyntaxError, parse_color
from fontpipe.errors import FontpipeError
from fontpipe.palettes.parse import ColorSpec, parse_colors
from fontpipe.palettes.stylesheets import stylesheet_colours
from fontpipe.palettes.tokens import design_token_colours


@pytest.mark.parametrize("text", ["123", "700", "100", "16711680", "16 9 1", "112233", "1e5"])
def test_a_bare_number_is_never_a_colour(text):
    with pytest.raises(ColorSyntaxError, match="a number, not a colour"):
        parse_color(text)


@pytest.mark.parametrize("text", ["bad", "fade", "fff", "abcd"])
def test_short_hex_needs_its_hash(text):
    with pytest.raises(ColorSyntaxError, match="needs 6 or 8 digits"):
        parse_color(text)
    assert parse_color("#" + text).alpha > 0


@pytest.mark.parametrize("text, hex_value", [("ff8800", "#ff8800"), ("0A0A0Acc", "#3b3b3b")])
def test_six_and_eight_digit_hex_without_a_hash_is_read(text, hex_value):
    assert parse_color(text).hex == hex_value


def test_a_text_column_reads_numbers_as_rejects_on_both_paths():
    # Six characters each: the vectorised path that decodes plain hex from the string buffer.
    values = ["112233", "ff8800", "#112233", "700", "16711680"]
    parsed = parse_colors(pa.table({"color": values}), ColorSpec(color_column="color"), None)
    np.testing.assert_array_equal(parsed.valid, [False, True, True, False, False])
    assert [r[0] for r in parsed.reasons] == [0, 3, 4]
    assert all("a number" in r[3] for r in parsed.reasons)


def test_an_integer_colour_column_is_refused():
    table = pa.table({"color": pa.array([16711680, 255], pa.int64())})
    with pytest.raises(FontpipeError, match="'color' holds int64 values, not colour strings"):
        parse_colors(table, ColorSpec(color_column="color"), None)


def test_a_numeric_token_is_rejected_not_read_as_hex(tmp_path):
    source = tmp_path / "tokens.json"
    tree = {
        "color": {"$type": "color", "z": {"$value": 123}, "ok": {"$value": "#ffffff"}},
        "size": {"$type": "number", "big": {"$value": 700}},
    }
    source.write_text(json.dumps(tree))
    found = design_token_colours(source)
    assert found.tokens == ["color.z", "color.ok"]
    assert found.rejects == {0: "a number, not a colour"}
    assert found.skipped == 1  # the number token is not a colour, and not a row


def test_numeric_custom_properties_are_skipped_and_counted(tmp_path):
    source = tmp_path / "theme.css"
    source.write_text(
        ":root {\n  --z: 100;\n  --font-weight-bold: 700;\n  --aspect-video: 16 9 1;\n"
        "  --hex-ish: 123;\n  --color-bg: #fff;\n}\n"
    )
    found = stylesheet_colours(source)
    assert found.tokens == ["--color-bg"]
    assert found.skipped == 4
    assert found.table().schema.metadata[b"fontpipe.skipped"] == b"4"
