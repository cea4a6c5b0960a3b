"""`score --report audit.html`: one self-contained page, rendered in headless Chromium: its
counts, its filters, no request made, and 10,000 rows that open fast."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cli.app import app
from fontpipe.scoring.audit import MAX_LISTED_ROWS, audit_data, write_audit_page
from fontpipe.scoring.view import VIEW_SCHEMA
from tests.chromium import HEADLESS, chromium_or_skip

pytestmark = pytest.mark.browser


def rendered(page, profile, fragment: str = "") -> str:
    """The page's DOM after its script ran, opened with `#fragment` (its filters)."""
    done = subprocess.run(
        [
            chromium_or_skip(),
            *HEADLESS,
            f"--user-data-dir={profile}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            page.as_uri() + (f"#{fragment}" if fragment else ""),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def matching(dom: str) -> int:
    return int(re.search(r'data-matching="(\d+)"', dom).group(1))


def count(dom: str, label: str) -> int:
    return int(
        re.search(rf'data-count="{re.escape(label)}">([\d,]+)<', dom).group(1).replace(",", "")
    )


def test_the_audit_page_counts_filters_and_asks_for_nothing(tiny_version, tmp_path):
    palette = tmp_path / "palette.csv"
    palette.write_text(
        "name,color,theme\nmint,#3eb489,light\npaper,#ffffff,light\nink,#000000,dark\n"
        "mid,#777777,dark\nsteel,#4682b4,\n"
    )
    css = tmp_path / "theme.css"
    css.write_text(":root { --brand: #336699; } .dark { --brand: #88aaff; }")
    page = tmp_path / "report" / "audit.html"
    for source in (palette, css):
        result = CliRunner().invoke(
            app,
            [
                "score",
                str(source),
                "--out",
                str(tmp_path / f"{source.stem}.parquet"),
                "--model",
                str(tiny_version),
                "--report",
                str(page),
            ],
        )
        assert result.exit_code == 0, result.output
    scored = pq.read_table(tmp_path / "theme.parquet")
    html = page.read_text()
    # Self-contained: nothing to fetch, and a policy that forbids fetching anything.
    assert not re.search(r"\b(src|href)=|url\(|@import|https?://|fetch\(|XMLHttpRequest", html)
    assert "default-src 'none'" in html

    dom = rendered(page, tmp_path / "profile")
    body = re.search(r"<body[^>]*>", dom).group(0)
    assert "data-ready-ms" in body and "data-blocked" not in body  # no request was attempted
    # The check can fail: the same page with one image to fetch records the blocked request.
    tampered = tmp_path / "tampered.html"
    tampered.write_text(html.replace("</body>", '<img src="http://127.0.0.1:9/x.png"></body>'))
    body = re.search(r"<body[^>]*>", rendered(tampered, tmp_path / "profile")).group(0)
    assert "data-blocked" in body
    assert count(dom, "colours") == 2 and matching(dom) == 2
    aa = int(np.count_nonzero(scored["wcag_aa"].to_numpy(zero_copy_only=False)))
    assert count(dom, "pass AA (4.5:1)") == aa
    assert dom.count('class="swatch"') == 2
    assert re.search(r'class="swatch" style="background: rgb\(51, 102, 153\)', dom)
    assert ">.dark<" in dom and ">:root<" in dom  # the theme column

    # The CSV's page: five colours, filtered by theme and by verdict through the address.
    result = CliRunner().invoke(
        app,
        [
            "score",
            str(palette),
            "--out",
            str(tmp_path / "p.csv"),
            "--model",
            str(tiny_version),
            "--report",
            str(page),
        ],
    )
    assert result.exit_code == 0, result.output
    dom = rendered(page, tmp_path / "profile")
    assert count(dom, "colours") == 5 and matching(dom) == 5
    assert matching(rendered(page, tmp_path / "profile", "theme=1")) == 2  # dark
    below = count(dom, "below 3:1")
    assert matching(rendered(page, tmp_path / "profile", "verdict=0")) == below
    flagged = count(dom, "other colour reads better")
    assert matching(rendered(page, tmp_path / "profile", "verdict=flagged")) == flagged


def synthetic_view(rows: int) -> pa.Table:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(rows, 3))
    hexes = ["#{:02x}{:02x}{:02x}".format(*c) for c in rgb]
    black = rng.random(rows) < 0.5
    contrast = rng.uniform(1, 21, size=(rows, 2)).astype(np.float32)
    lc = rng.uniform(-108, 108, size=(rows, 2)).astype(np.float32)
    table = pa.table(
        {
            "row": np.arange(1, rows + 1),
            "token": [f"--c-{i}" for i in range(rows)],
            "name": pa.nulls(rows, pa.string()),
            "context": [":root" if i % 3 else ".dark" for i in range(rows)],
            "theme": pa.nulls(rows, pa.string()),
            "color": hexes,
            "hex": hexes,
            "p_black": black.astype(np.float32),
            "black": black,
            "contrast_black": contrast[:, 0],
            "contrast_white": contrast[:, 1],
            "apca_lc_black": lc[:, 0],
            "apca_lc_white": lc[:, 1],
        },
        schema=VIEW_SCHEMA,
    )
    return table.append_column("source", pa.array(["big.csv"] * rows))


def test_ten_thousand_rows_open_fast_drawn_a_page_at_a_time(tmp_path):
    page = tmp_path / "audit.html"
    write_audit_page(page, synthetic_view(10_000), model_version="v", rule="readable")
    dom = rendered(page, tmp_path / "profile")
    ready_ms = int(re.search(r'data-ready-ms="(\d+)"', dom).group(1))
    assert ready_ms < 2000, f"the page took {ready_ms} ms to open"
    assert matching(dom) == 10_000 and count(dom, "colours") == 10_000
    assert dom.count("<tr>") < 1_000  # drawn lazily, not 10,000 rows at once
    assert matching(rendered(page, tmp_path / "profile", "theme=0")) == 3334  # .dark


def test_lc_shows_only_where_the_rule_uses_apca_and_listing_is_capped():
    view = synthetic_view(5)
    assert audit_data(view, rule="readable")["rows"][0][-1] is not None
    assert audit_data(view, rule="wcag")["rows"][0][-1] is None
    assert MAX_LISTED_ROWS >= 100_000
