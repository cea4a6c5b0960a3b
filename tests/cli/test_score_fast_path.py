"""`fontpipe score` has two parsers: the quick start in `cli.quick_score` for its plain forms, and
typer for everything. Whichever parses a command line, the output file, what is printed and the
exit code are the same, for a scored file, a bad value and a missing model alike."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from cli.quick_score import quick_score_request

# Both routes run `cli.app.main` as the installed command does; the typer route with the quick
# parser switched off. On exit the quick route also says whether it imported typer.
QUICK = (
    "import atexit, sys, cli.app as app; sys.argv[0] = 'fontpipe'; "
    "atexit.register(lambda: sys.__stderr__.write('\\nloaded: %s' % sorted("
    "m for m in ('typer', 'click') if m in sys.modules))); app.main()"
)
TYPER = (
    "import sys, cli.app as app, cli.quick_score as quick; sys.argv[0] = 'fontpipe'; "
    "quick.quick_score_request = lambda args: None; app.main()"
)


def run(route: str, args: list[str], data: Path) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-c", route, "score", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "FONTPIPE_DATA": str(data), "COLUMNS": "100"},
    )
    return done.returncode, done.stdout, done.stderr


def steady(text: str) -> str:
    """Printed text without what differs from run to run: timings and rates."""
    text = re.sub(r'"(seconds|rows_per_second)": [0-9.e+-]+', r'"\1": 0', text)
    text = re.sub(r"rows/s +│ +[0-9,.]+", "rows/s", text)
    return re.sub(r"[0-9]+:[0-9]{2}:[0-9]{2}", "0:00:00", text)


@pytest.fixture
def palette(tmp_path):
    source = tmp_path / "palette.csv"
    source.write_text("name,color\nbrand,#336699\nink,#0a0a0a\npaper,#fafafa\n")
    return source


@pytest.mark.parametrize("as_json", [True, False])
def test_both_routes_score_alike(tiny_version, palette, tmp_path, as_json):
    printed = []
    for route, name in ((QUICK, "quick"), (TYPER, "typer")):
        out = tmp_path / f"{name}.parquet"
        args = [str(palette), "--out", str(out), "--model", str(tiny_version)]
        code, stdout, stderr = run(route, [*args, *(["--json"] if as_json else [])], tmp_path)
        assert code == 0, stderr
        if route == QUICK:
            stderr, _, loaded = stderr.rpartition("\nloaded: ")
            assert loaded == "[]"  # neither typer nor click
        printed.append(steady(stdout.replace(str(out), "OUT")))
    assert printed[0] == printed[1]
    if as_json:
        assert json.loads(printed[0])["scored"] == 3
    quick, typer = (pq.read_table(tmp_path / f"{n}.parquet") for n in ("quick", "typer"))
    assert quick.equals(typer)


@pytest.mark.parametrize(
    ("rows", "extra", "wanted"),
    [
        ("name,color\nbrand,#33669\n", [], "row 1"),  # a bad value: one line, exit 2
        ("name,color\nbrand,#336699\n", ["--model", "no-such-version"], "no-such-version"),
    ],
)
def test_both_routes_refuse_alike(tiny_version, tmp_path, rows, extra, wanted):
    source = tmp_path / "bad.csv"
    source.write_text(rows)
    outcomes = []
    for route in (QUICK, TYPER):
        args = [str(source), "--out", str(tmp_path / "out.csv"), "--model", str(tiny_version)]
        code, stdout, stderr = run(route, [*args, *extra], tmp_path)
        outcomes.append((code, stdout, stderr.rpartition("\nloaded: ")[0] or stderr))
    assert outcomes[0] == outcomes[1]
    code, _, stderr = outcomes[0]
    assert code == 2
    assert wanted in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1  # one line (a log's last progress line may precede it)
    assert not (tmp_path / "out.csv").exists()


def test_only_plain_forms_are_parsed_quickly():
    plain = quick_score_request(["score", "a.csv", "--out=b.parquet", "--rule", "wcag", "--json"])
    assert plain is not None
    assert (plain.inputs, plain.out, plain.rule, plain.as_json) == (
        ["a.csv"],
        "b.parquet",
        "wcag",
        True,
    )
    assert quick_score_request(["score", "a.csv", "b.csv", "--out", "c.csv"]).inputs == [
        "a.csv",
        "b.csv",
    ]
    for typer_sees in (
        ["score", "--help"],
        ["score", "a.csv"],  # no --out: typer says so
        ["score", "--out", "b.csv"],  # no input
        ["score", "a.csv", "--out", "b.csv", "--rule", "nonsense"],
        ["score", "a.csv", "--out", "b.csv", "--on-error", "ignore"],
        ["score", "a.csv", "--out", "b.csv", "--dask-address", "tcp://x:1"],
        ["score", "a.csv", "--out", "--json"],
        ["score", "a.csv", "--out", "b.csv", "--"],
        ["predict", "#fff"],
    ):
        assert quick_score_request(typer_sees) is None, typer_sees


def test_the_bar_shows_a_total_where_one_is_known(tiny_version, palette, tmp_path):
    """A Parquet input's rows are known before scoring (its footer): the bar counts to them. A
    CSV's are not, and the bar says so with `?` rather than a guess."""
    import pyarrow as pa

    parquet = tmp_path / "palette.parquet"
    pq.write_table(pa.table({"color": ["#336699", "#0a0a0a", "#fafafa", "#ff0000"]}), parquet)
    for source, wanted in ((parquet, "4/4"), (palette, "3/?")):
        out = tmp_path / f"{source.stem}-{source.suffix[1:]}.parquet"
        code, _, stderr = run(
            QUICK, [str(source), "--out", str(out), "--model", str(tiny_version)], tmp_path
        )
        assert code == 0, stderr
        (bar,) = [line for line in stderr.splitlines() if line.startswith("score ")]
        assert wanted in bar.split(), bar
