"""`fontpipe predict -`: a loop over stdin that answers each line before the next one is written,
on both parsers; a bad line is answered with its error and the loop goes on."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys

import jsonschema
import pytest

from tests.cli.test_predict_fast_path import QUICK, SCHEMA, TYPER, both_routes, models

__all__ = ["models"]  # the registry fixture, shared with the fast-path tests

LINE_SCHEMA = {**SCHEMA, "$ref": "#/$defs/line"}
for key in ("type", "required", "properties", "additionalProperties", "title"):
    LINE_SCHEMA.pop(key, None)


def start(route: str, args: list[str], models) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", route, "predict", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "FONTPIPE_DATA": str(models.parent), "COLUMNS": "80"},
    )


def answer(process: subprocess.Popen[str], line: str) -> str:
    """Write one line and read one answer, with stdin still open."""
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(line + "\n")
    process.stdin.flush()
    ready, _, _ = select.select([process.stdout], [], [], 120)
    assert ready, "no answer before the next line"
    return process.stdout.readline()


@pytest.mark.parametrize("route", [QUICK, TYPER], ids=["quick", "typer"])
def test_each_line_is_answered_before_the_next_is_written(models, route):
    process = start(route, ["-", "--json"], models)
    try:
        first = json.loads(answer(process, "#ffffff"))
        bad = json.loads(answer(process, "#12"))
        second = json.loads(answer(process, "  rgb(0 0 0)  "))
    finally:
        _, err = process.communicate(timeout=120)
    for line in (first, bad, second):
        jsonschema.validate(line, LINE_SCHEMA)
    assert first["srgb_hex"] == "#ffffff" and first["wcag_aa_large"] is True
    assert second["color"] == "rgb(0 0 0)" and second["srgb_hex"] == "#000000"
    assert bad["color"] == "#12" and "#12" in bad["error"]
    assert process.returncode == 2  # a line was bad
    assert "Traceback" not in err


def test_table_rows_come_line_by_line_and_a_clean_run_exits_0(models):
    process = start(QUICK, ["-"], models)
    try:
        assert process.stdout is not None
        header = answer(process, "navy")
        row = process.stdout.readline()
    finally:
        out, _ = process.communicate(timeout=120)
    assert header.split()[:4] == ["colour", "text", "contrast", "AA"]
    assert row.split()[0] == "navy" and row.split()[1] in ("black", "white") and out == ""
    assert process.returncode == 0


def test_both_routes_loop_alike_and_refuse_a_dash_among_colours(models):
    code, out, _err, _ = both_routes(["-", "--json"], models, "#fff\n\nnope\n#000\n")
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line.get("srgb_hex") for line in lines] == ["#ffffff", None, "#000000"]
    assert code == 2
    code, out, err, _ = both_routes(["#fff", "-"], models)
    assert code == 2 and out == "" and "'-' reads colours from stdin" in err


def test_a_line_schema_refuses_what_the_document_does_not_hold():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"color": "#fff", "error": "x", "extra": 1}, LINE_SCHEMA)
