"""`score --out theme.css | tokens.json` and `--report audit.html`: answers in a front end's own
formats, keeping each row's context, and the 3:1 verdict columns beside AA and AAA."""

from __future__ import annotations

import json
import re

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cli.app import app
from fontpipe.color.rules import text_contrast_ratio
from fontpipe.errors import FontpipeError
from fontpipe.palettes.stylesheets import stylesheet_colours
from fontpipe.palettes.tokens import design_token_colours
from fontpipe.scoring.job import score_files
from fontpipe.scoring.plan import ScoreConfig, parts_dir_for

runner = CliRunner()

THEME_CSS = """
:root { --brand-500: #336699; --brand-100: #eef; --space: 4px; --duo: light-dark(#fff, #222); }
@media (prefers-color-scheme: dark) { :root { --brand-500: #88aaff; } }
@media screen and (min-width: 40em) { [data-theme="ocean"] .card { --brand-500: teal; } }
[data-theme="ocean"] { --brand-500: teal; --Brand\\ x: red; }
"""
TOKENS = {
    "brand": {"$type": "color", "500": {"$value": "#336699"}, "600": {"$value": "{brand.500}"}},
    "dark": {"bg": {"$type": "color", "$value": "#101010"}},
}


def write_inputs(tmp_path):
    css = tmp_path / "theme.css"
    css.write_text(THEME_CSS)
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps(TOKENS))
    return css, tokens


def test_a_stylesheet_keeps_every_context_and_reads_back_as_its_source(tiny_version, tmp_path):
    css, _ = write_inputs(tmp_path)
    out = tmp_path / "out" / "on.css"
    summary = score_files([str(css)], out, tiny_version, ScoreConfig())
    assert summary.scored == 8 and summary.output == str(out)
    text = out.read_text()
    assert "@media (prefers-color-scheme: dark) {\n  :root {\n    --on-brand-500:" in text
    assert "--on-duo: light-dark(#" in text  # the two sides of light-dark() are one again
    assert "--on-Brand\\ x:" in text  # a property's own escape, kept as written
    assert re.search(r"--on-brand-500: #(000|fff); /\* on #336699: black \d+\.\d\d:1, white", text)
    # Read back by fontpipe's own stylesheet reader: the same contexts, the same names with on-.
    source = stylesheet_colours(css)
    written = stylesheet_colours(out)
    expected = [
        (c.replace(" (light)", "").replace(" (dark)", ""), "--on-" + t[2:])
        for t, c in zip(source.tokens, source.contexts, strict=True)
    ]
    got = [
        (c.replace(" (light)", "").replace(" (dark)", ""), t)
        for t, c in zip(written.tokens, written.contexts, strict=True)
    ]
    assert got == expected and not written.rejects
    assert set(written.colors) <= {"#000", "#fff"}
    assert not list(tmp_path.glob("out/.*"))  # no staging or parts left


def test_names_are_escaped_made_unique_and_values_keywords(tiny_version, tmp_path):
    palette = tmp_path / "palette.csv"
    palette.write_text(
        "name,color,theme\nmint,#3eb489,light\nmint,#3eb489,light\nnight sky,#0b1026,dark\n"
        "a.b{c},#ffcc00,\n"
    )
    out = tmp_path / "on.css"
    result = runner.invoke(
        app,
        [
            "score",
            str(palette),
            "--out",
            str(out),
            "--model",
            str(tiny_version),
            "--value-style",
            "keyword",
        ],
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert '[data-theme="light"] {\n  --on-mint: ' in text and "\n  --on-mint-2: " in text
    assert "--on-night\\ sky: " in text and "--on-a\\.b\\{c\\}: " in text
    values = re.findall(r"--on-[^:]+: (\w+);", text)
    assert len(values) == 4 and set(values) <= {"black", "white"}
    again = tmp_path / "again.css"
    assert (
        runner.invoke(
            app,
            [
                "score",
                str(palette),
                "--out",
                str(again),
                "--model",
                str(tiny_version),
                "--value-style",
                "keyword",
            ],
        ).exit_code
        == 0
    )
    assert again.read_text() == text  # deterministic


def test_design_tokens_alias_their_source_and_group_by_theme(tiny_version, tmp_path):
    css, tokens = write_inputs(tmp_path)
    out = tmp_path / "on.tokens.json"
    score_files([str(tokens)], out, tiny_version, ScoreConfig())
    document = json.loads(out.read_text())
    token = document["on"]["brand"]["500"]
    assert token["$type"] == "color" and token["$value"] in ("#000000", "#ffffff")
    about = token["$extensions"]["org.fontpipe"]
    assert about["background"] == "{brand.500}" and about["background_hex"] == "#336699"
    assert document["on"]["brand"]["600"]["$extensions"]["org.fontpipe"]["background"] == (
        "{brand.600}"
    )
    assert document["on"]["dark"]["bg"]["$value"] in ("#000000", "#ffffff")
    # fontpipe's own token reader takes the output back: one colour token per row.
    assert len(design_token_colours(out).tokens) == 3
    from_css = tmp_path / "css.json"
    score_files([str(css)], from_css, tiny_version, ScoreConfig())
    groups = json.loads(from_css.read_text())["on"]
    assert "@media (prefers-color-scheme: dark) :root" in groups  # a group per context
    assert "brand-500" in groups and "brand-500" in groups['[data-theme="ocean"]']
    assert "duo" in groups[":root (light)"] and "duo" in groups[":root (dark)"]
    assert len(design_token_colours(from_css).tokens) == 8


@pytest.mark.parametrize("shape", ["csv", "parquet"])
def test_csv_and_parquet_rows_keep_their_context(tiny_version, tmp_path, shape):
    table = pa.table(
        {
            "token": ["--a", "--a", "brand.500"],
            "context": [":root", "@media (prefers-color-scheme: dark) :root", ""],
            "color": ["#ffffff", "#000000", "#336699"],
        }
    )
    source = tmp_path / f"palette.{shape}"
    if shape == "csv":
        pacsv.write_csv(table, source)
    else:
        pq.write_table(table, source)
    out = tmp_path / "on.css"
    score_files([str(source)], out, tiny_version, ScoreConfig())
    text = out.read_text()
    assert ":root {\n  --on-a: " in text and "\n  --on-brand-500: " in text
    assert "@media (prefers-color-scheme: dark) {\n  :root {\n    --on-a: " in text


def test_a_context_that_is_no_css_is_refused_naming_its_row(tiny_version, tmp_path):
    palette = tmp_path / "palette.csv"
    palette.write_text('token,context,color\n--a,:root,#fff\n--b,"} body { x",#000\n')
    out = tmp_path / "out" / "on.css"
    with pytest.raises(FontpipeError, match=r"palette.csv: row 2: context .* cannot be written"):
        score_files([str(palette)], out, tiny_version, ScoreConfig())
    assert not out.exists() and not parts_dir_for(out).exists()
    result = runner.invoke(
        app, ["score", str(palette), "--out", str(out), "--model", str(tiny_version)]
    )
    assert result.exit_code == 2 and "row 2" in result.output
    assert not (tmp_path / "out").exists()


def test_an_unknown_output_suffix_names_every_format(tiny_version, tmp_path):
    palette = tmp_path / "palette.csv"
    palette.write_text("color\n#fff\n")
    result = runner.invoke(
        app, ["score", str(palette), "--out", str(tmp_path / "x.txt"), "--model", str(tiny_version)]
    )
    assert result.exit_code == 2
    assert ".css (a stylesheet)" in result.output and ".json (design tokens)" in result.output


def test_large_text_and_non_text_verdicts_are_exact_at_3_to_1(tiny_version, tmp_path):
    """Colours whose contrast lies either side of 3:1: the verdicts follow the exact contrast,
    and the CSV never prints a missed 3:1 as 3.0000."""
    grey = np.arange(0, 256, dtype=np.uint8)
    rgb = np.stack([grey, grey, grey], axis=1)
    palette = tmp_path / "greys.csv"
    pacsv.write_csv(
        pa.table({"r": rgb[:, 0], "g": rgb[:, 1], "b": rgb[:, 2]}).cast(
            pa.schema([("r", pa.int64()), ("g", pa.int64()), ("b", pa.int64())])
        ),
        palette,
    )
    for suffix in ("csv", "parquet"):
        out = tmp_path / f"scored.{suffix}"
        score_files([str(palette)], out, tiny_version, ScoreConfig())
        table = pacsv.read_csv(out) if suffix == "csv" else pq.read_table(out)
        black = np.asarray(table["text_color"].cast(pa.string()).to_pylist()) == "black"
        exact = np.where(black, text_contrast_ratio(rgb, True), text_contrast_ratio(rgb, False))
        large = table["wcag_aa_large"].to_numpy(zero_copy_only=False)
        assert np.array_equal(large, exact >= 3)
        assert np.array_equal(table["wcag_non_text"].to_numpy(zero_copy_only=False), large)
        printed = np.asarray(table["contrast_ratio"].cast(pa.float64()).to_pylist())
        assert not np.any((printed >= 3) & (exact < 3))


def test_the_value_styles_the_command_lists_are_the_librarys():
    from cli.scoring import ValueStyle
    from fontpipe.scoring.design import VALUE_STYLES

    assert tuple(v.value for v in ValueStyle) == VALUE_STYLES
