"""The file shapes palettes come in, scored to the same colours: a Tailwind-v4-style stylesheet,
W3C design tokens, CSV with any delimiter, TSV, compressed CSV, JSON Lines and Parquet."""

from __future__ import annotations

import bz2
import gzip
import json

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from fontpipe.scoring.job import score_files
from fontpipe.scoring.plan import ScoreConfig

PALETTE = {  # token -> CSS colour, as a design system writes them
    "red.500": "oklch(63.7% 0.237 25.331)",
    "lime.300": "oklch(89.7% 0.196 126.665)",
    "sky.950": "oklch(29.3% 0.066 243.157)",
    "p3.green": "color(display-p3 0 1 0)",
    "brand.overlay": "#fb2c3680",
    "ink": "rebeccapurple",
    "paper": "hsl(40 30% 96%)",
}
QUARANTINE = ScoreConfig(on_error="quarantine")


def answers(path, color="color", key="token"):
    """token -> (srgb_hex, text_color, gamut_mapped) from a scored CSV."""
    table = pacsv.read_csv(path).to_pylist()
    return {
        str(row[key]).removeprefix("--color-").replace("-", "."): (
            row["srgb_hex"],
            row["text_color"],
            row["gamut_mapped"],
        )
        for row in table
    }


def test_stylesheet_tokens_and_semicolon_csv_score_to_the_same_colours(tiny_version, tmp_path):
    css = tmp_path / "theme.css"
    lines = ["@theme {", "  --font-sans: ui-sans-serif, system-ui;", "  --spacing: 0.25rem;"]
    lines += [f"  --color-{name.replace('.', '-')}: {value};" for name, value in PALETTE.items()]
    css.write_text("\n".join([*lines, "}", "/* --color-commented: #000; */"]) + "\n")

    tokens = tmp_path / "tokens.json"
    tree: dict = {"$type": "color"}
    for name, value in PALETTE.items():
        node = tree
        *groups, leaf = name.split(".")
        for group in groups:
            node = node.setdefault(group, {})
        node[leaf] = {"$value": value}
    tokens.write_text(
        json.dumps({"color": tree, "size": {"$type": "dimension", "s": {"$value": "4px"}}})
    )

    semicolon = tmp_path / "palette.csv"
    semicolon.write_text(
        "token;color\n" + "".join(f"{name};{value}\n" for name, value in PALETTE.items())
    )

    results = {}
    for source in (css, tokens, semicolon):
        summary = score_files(
            [str(source)], tmp_path / f"out-{source.name}.csv", tiny_version, QUARANTINE
        )
        assert (summary.read, summary.rejected) == (len(PALETTE), 0), source
        assert summary.gamut_mapped == 1 and summary.translucent == 1
        results[source.name] = answers(summary.output)
    from_css = {k.removeprefix("color."): v for k, v in results["theme.css"].items()}
    from_tokens = {k.removeprefix("color."): v for k, v in results["tokens.json"].items()}
    assert from_css == from_tokens == results["palette.csv"]
    assert results["palette.csv"]["red.500"][0] == "#fb2c36"
    assert results["palette.csv"]["p3.green"][2] is True  # outside sRGB: mapped
    assert results["palette.csv"]["brand.overlay"][0] == "#fd959a"  # composited over white


def _write_variants(tmp_path):
    rows = [f"{name},{value.replace(',', ' ')}" for name, value in PALETTE.items()]
    plain = "token,color\n" + "\n".join(rows) + "\n"
    files = {"plain.csv": plain.encode()}
    files["pipes.csv"] = plain.replace(",", "|").encode()
    files["tabs.tsv"] = plain.replace(",", "\t").encode()
    files["gz.csv.gz"] = gzip.compress(plain.encode())
    files["bz.csv.bz2"] = bz2.compress(plain.encode())

    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as out:
        out.write(plain.encode())
    files["zst.csv.zst"] = sink.getvalue().to_pybytes()
    files["lines.jsonl"] = "".join(
        json.dumps({"token": name, "color": value}) + "\n" for name, value in PALETTE.items()
    ).encode()
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    pq.write_table(
        pa.table({"token": list(PALETTE), "color": list(PALETTE.values())}),
        tmp_path / "css.parquet",
    )
    return [*files, "css.parquet"]


def test_every_file_shape_scores_the_same(tiny_version, tmp_path):
    names = _write_variants(tmp_path)
    expected = None
    for name in names:
        summary = score_files(
            [str(tmp_path / name)], tmp_path / f"out-{name}.csv", tiny_version, QUARANTINE
        )
        assert (summary.read, summary.rejected) == (len(PALETTE), 0), name
        got = answers(summary.output)
        expected = expected or got
        assert got == expected, name


def test_the_delimiter_can_be_given(tiny_version, tmp_path):
    source = tmp_path / "odd.csv"
    source.write_text("token|color\nred|#ff0000\n")  # sniffed: the pipe
    assert score_files([str(source)], tmp_path / "a.csv", tiny_version, ScoreConfig()).scored == 1
    source.write_text("a,b;color\nx,y;#ff0000\n")  # a comma inside a field: say so
    summary = score_files(
        [str(source)], tmp_path / "b.csv", tiny_version, ScoreConfig(delimiter=";")
    )
    assert summary.scored == 1
    assert pacsv.read_csv(summary.output).column("a,b").to_pylist() == ["x,y"]


def test_bad_json_lines_are_quarantined_with_their_line(tiny_version, tmp_path):
    source = tmp_path / "bad.jsonl"
    source.write_text('{"color": "#fff"}\n{not json}\n[1, 2]\n{"color": "oklch(70% 0.1)"}\n')
    summary = score_files([str(source)], tmp_path / "out.csv", tiny_version, QUARANTINE)
    assert (summary.read, summary.scored, summary.rejected) == (4, 1, 3)
    reasons = {r["row"]: r["reason"] for r in pacsv.read_csv(summary.rejects).to_pylist()}
    assert (
        "not JSON" in reasons[2] and "not a JSON object" in reasons[3] and "oklch()" in reasons[4]
    )


@pytest.mark.parametrize("backdrop, expected", [("white", "#808080"), ("black", "#000000")])
def test_translucent_colours_sit_on_the_backdrop(tiny_version, tmp_path, backdrop, expected):
    source = tmp_path / "alpha.csv"
    source.write_text("color\nrgb(0 0 0 / 50%)\ntransparent\n")
    summary = score_files(
        [str(source)],
        tmp_path / "out.csv",
        tiny_version,
        ScoreConfig(on_error="quarantine", backdrop=backdrop),
    )
    assert (summary.scored, summary.rejected, summary.translucent) == (1, 1, 1)
    (row,) = pacsv.read_csv(summary.output).to_pylist()
    assert row["srgb_hex"] == expected and row["color"] == "rgb(0 0 0 / 50%)"  # original kept
    (reject,) = pacsv.read_csv(summary.rejects).to_pylist()
    assert "transparent" in reject["reason"]
