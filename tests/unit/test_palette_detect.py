"""Which column is the colour (issue 23, items 1 and 2): named, exact, or settled by the values;
never the first name that merely contains a hint."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fontpipe.errors import FontpipeError
from fontpipe.palettes.detect import ColorSpec, detect_color_spec
from fontpipe.palettes.formats import read_sample


def test_an_exact_color_column_beats_hinted_names():
    names = ["color_family", "subgroup", "color"]
    assert detect_color_spec(names) == ColorSpec(color_column="color")
    assert detect_color_spec(["name", "bg_tint", "COLOUR"]) == ColorSpec(color_column="COLOUR")
    assert detect_color_spec(names, color_column="subgroup") == ColorSpec(color_column="subgroup")


def test_two_exact_colour_columns_are_refused_naming_both():
    with pytest.raises(FontpipeError, match="'color', 'Colour' could each be the colour"):
        detect_color_spec(["color", "Colour"])


def test_hinted_names_are_settled_by_their_values():
    sample = pa.table(
        {
            "color_family": ["warm", "cold", "neutral"],
            "subgroup": ["a", "b", "c"],
            "bg_hex": ["#000000", "#ffffff", "#123abc"],
        }
    )
    names = sample.column_names
    assert detect_color_spec(names, sample=sample) == ColorSpec(color_column="bg_hex")
    assert detect_color_spec(names, sample=lambda: sample).color_column == "bg_hex"


def test_hinted_names_that_leave_a_choice_are_refused_listing_them():
    with pytest.raises(FontpipeError, match="'color_family', 'bg_hex' could each be"):
        detect_color_spec(["color_family", "bg_hex"])  # no sample: no guess
    both = pa.table({"bg": ["#000", "#fff"], "hex_code": ["#fff", "#000"]})
    with pytest.raises(FontpipeError, match="'bg', 'hex_code' each hold colours"):
        detect_color_spec(both.column_names, sample=both)
    named = pa.table({"color_family": ["red", "blue"], "bg_hex": ["#000", "#fff"]})
    with pytest.raises(FontpipeError, match="'color_family', 'bg_hex' each hold colours"):
        detect_color_spec(named.column_names, sample=named)  # red and blue are colours too
    words = pa.table({"subgroup": ["a", "b"], "color_family": ["warm", "cold"]})
    with pytest.raises(FontpipeError, match="no column holds colours"):
        detect_color_spec(words.column_names, sample=words)
    numbers = pa.table({"bg_id": [123, 700], "hex_count": ["100", "16711680"]})
    with pytest.raises(FontpipeError, match="no column holds colours"):
        detect_color_spec(numbers.column_names, sample=numbers)


def test_channel_names_that_differ_only_in_case_are_refused():
    with pytest.raises(FontpipeError, match="'r', 'R' differ only in case"):
        detect_color_spec(["r", "g", "b", "R"])
    with pytest.raises(FontpipeError, match="'Green', 'GREEN'"):
        detect_color_spec(["red", "Green", "GREEN", "blue"])
    with pytest.raises(FontpipeError, match="'RED' matches columns 'red', 'Red'"):
        detect_color_spec(["red", "Red", "g", "b"], rgb_columns=("RED", "g", "b"))
    # Named exactly, the clash is no question.
    spec = detect_color_spec(["r", "g", "b", "R"], rgb_columns=("R", "g", "b"))
    assert spec.rgb_columns == ("R", "g", "b")
    assert detect_color_spec(["R", "G", "B"]).rgb_columns == ("R", "G", "B")


def test_read_sample_gives_the_first_rows_of_every_text_shape(tmp_path):
    names = ["name", "color_family", "bg_hex"]
    rows = [["a", "warm", "#000000"], ["b", "cold", "#ffffff"]]
    csv_text = "\n".join(";".join(r) for r in [names, *rows]) + "\n"
    (tmp_path / "p.csv").write_text(csv_text)
    (tmp_path / "p.csv.gz").write_bytes(gzip.compress(csv_text.encode()))
    (tmp_path / "p.jsonl").write_text(
        "".join(json.dumps(dict(zip(names, r, strict=True))) + "\n" for r in rows)
    )
    pq.write_table(
        pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)}), tmp_path / "p.parquet"
    )
    for name in ("p.csv", "p.csv.gz", "p.jsonl", "p.parquet"):
        sample = read_sample(tmp_path / name, names)
        assert sample.column("bg_hex").to_pylist() == ["#000000", "#ffffff"], name
        assert detect_color_spec(names, sample=sample).color_column == "bg_hex", name
