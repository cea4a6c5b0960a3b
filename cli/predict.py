"""`fontpipe predict` once its options are parsed: answer, then print a table or one JSON
document. Free of typer, so that both parsers call it: the `predict` command in `cli.scoring`,
and `cli.app`'s quick start for the plain forms of a look-up. Either way a look-up prints the
same bytes, the same errors and the same exit codes.

`predict -` (or no colours at a terminal, with a prompt) is a loop: each line of stdin is
answered as it arrives, flushed, as a table row or one JSON object; a bad line is answered with
its error and the loop goes on, and the exit code is 2 if any line was bad.

Rich loads only for a table or an error; a JSON answer is written without it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.json_output import emit_json
from fontpipe.errors import FontpipeError
from fontpipe.settings import Settings

if TYPE_CHECKING:
    from rich.table import Table
    from rich.text import Text

    from fontpipe.predict import Prediction


# The argument that asks for the line-by-line loop on stdin.
STDIN = "-"


def run_predict(
    colors: list[str] | None,
    model: str,
    rule: str | None,
    models_dir: Path | None,
    backdrop: str,
    as_json: bool,
) -> int:
    """Answer for each colour (one per line on stdin when none are given, line by line with
    `-` or at a terminal); a FontpipeError says what is wrong. The exit code: 2 when a line of
    the loop was bad, else 0."""
    from fontpipe.color.css import parse_backdrop
    from fontpipe.predict import answering_version, predict_colors

    loop = colors == [STDIN] or (not colors and sys.stdin.isatty())
    if colors and STDIN in colors and not loop:
        raise FontpipeError("'-' reads colours from stdin, one per line: give it alone")
    version_path = answering_version(model, models_dir or Settings.from_env().models_dir, rule)
    if loop:
        return answer_lines(version_path, parse_backdrop(backdrop), as_json)
    texts = colors or [line.strip() for line in sys.stdin if line.strip()]
    if not texts:
        raise FontpipeError("no colours given: pass them as arguments or one per line on stdin")
    predictions = predict_colors(version_path, texts, parse_backdrop(backdrop))
    if as_json:
        emit_json(prediction_document(predictions, version_path.name))
        return 0
    from cli.console import console

    print_predictions(console, predictions, version_path.name)
    return 0


def answer_lines(version_path: Path, backdrop: tuple[int, int, int], as_json: bool) -> int:
    """The loop: one answer per non-blank line of stdin, written and flushed before the next
    line is read; at a terminal, a prompt on stderr. 2 when any line was bad."""
    from fontpipe.color.css import parse_color_argument
    from fontpipe.predict import answer_colors, cube_table

    table = cube_table(version_path)  # opened once for the whole loop
    prompt = sys.stdin.isatty() and sys.stderr.isatty()
    version = version_path.name
    if prompt:
        sys.stderr.write(f"answered by {version}; one colour a line, Ctrl-D to end\n")
    if not as_json:
        _write_line(_LINE_FORMAT.format(*_LINE_HEADER))
    any_bad = False
    while True:
        if prompt:
            sys.stderr.write("colour> ")
            sys.stderr.flush()
        # readline, not iteration: a pipe's iterator reads ahead and would hold answers back.
        line = sys.stdin.readline()
        if not line:
            break
        text = line.strip()
        if not text:
            continue
        try:
            colour = parse_color_argument(text, backdrop).rgb
        except FontpipeError as exc:
            any_bad = True
            if as_json:
                _write_line(json.dumps({"color": text, "error": str(exc)}))
            else:
                _write_line(f"{text}  error: {exc}")
            continue
        (answer,) = answer_colors(table, [text], [colour])
        if as_json:
            _write_line(json.dumps({"model_version": version, **prediction_record(answer)}))
        else:
            _write_line(_table_line(answer))
    return 2 if any_bad else 0


# Each answer's fields: the table's columns after `colour`, and the lines of a narrow view.
_FIELDS = (
    "P(black)",
    "text",
    "contrast",
    "AA",
    "AAA",
    "3:1",
    "black text",
    "white text",
    "Lc black",
    "Lc white",
)
# A line of `predict -`: the colour, then every field but P(black).
_LINE_HEADER = ("colour", *_FIELDS[1:])
_LINE_FORMAT = "{:<24} {:<5} {:>8} {:<4} {:<4} {:<4} {:>10} {:>10} {:>8} {:>8}"


def _table_line(row: Prediction) -> str:
    # The narrow view's fields without P(black), as plain words.
    return _LINE_FORMAT.format(row.text, *_field_strings(row)[1:])


def _verdict(passes: bool) -> str:
    return "pass" if passes else "FAIL"


def _write_line(text: str) -> None:
    sys.stdout.write(text.rstrip() + "\n")
    sys.stdout.flush()


def prediction_document(predictions: list[Prediction], version: str) -> dict[str, Any]:
    """The `--json` document (schemas/predict.json)."""
    return {
        "model_version": version,
        "predictions": [prediction_record(row) for row in predictions],
    }


def prediction_record(row: Prediction) -> dict[str, Any]:
    """One answer as JSON: an item of the document's `predictions`, and (with `model_version`)
    a line of `predict - --json`."""
    return {
        "color": row.text,
        "srgb_hex": row.hex,
        "p_black": row.p_black,
        "text_color": row.text_color,
        "contrast_ratio": row.contrast_ratio,
        "contrast_black": row.contrast_black,
        "contrast_white": row.contrast_white,
        "wcag_aa": row.wcag_aa,
        "wcag_aaa": row.wcag_aaa,
        "wcag_aa_large": row.wcag_aa_large,
        "wcag_non_text": row.wcag_non_text,
        "apca_lc_black": row.apca_lc_black,
        "apca_lc_white": row.apca_lc_white,
    }


_NUMERIC = {"P(black)", "contrast", "black text", "white text", "Lc black", "Lc white"}
_CAPTION = "AA 4.5:1, AAA 7:1; 3:1: large text (AA) and UI components (non-text)"


def _field_strings(row: Prediction) -> list[str]:
    """The values of _FIELDS, verdicts as `pass` / `FAIL`."""
    return [
        f"{row.p_black:.4f}",
        row.text_color,
        f"{row.contrast_ratio:.2f}:1",
        _verdict(row.wcag_aa),
        _verdict(row.wcag_aaa),
        _verdict(row.wcag_aa_large),
        f"{row.contrast_black:.2f}:1",
        f"{row.contrast_white:.2f}:1",
        f"{row.apca_lc_black:.1f}",
        f"{row.apca_lc_white:.1f}",
    ]


def _field_values(row: Prediction) -> list[Any]:
    """The values of _FIELDS for a terminal: verdicts in colour."""
    verdicts = {"AA": row.wcag_aa, "AAA": row.wcag_aaa, "3:1": row.wcag_aa_large}
    return [
        _verdict_text(verdicts[field]) if field in verdicts else value
        for field, value in zip(_FIELDS, _field_strings(row), strict=True)
    ]


def prediction_table(predictions: list[Prediction], version: str) -> Table:
    """The look-ups as a table, with a swatch of each colour in its chosen text."""
    from rich.table import Table
    from rich.text import Text

    table = Table(show_header=True, title=f"answered by {version}", caption=_CAPTION)
    for column in ("colour", *_FIELDS, "swatch"):
        table.add_column(column, justify="right" if column in _NUMERIC else "left")
    for row in predictions:
        swatch = Text(f" {row.text} ", style=f"{row.text_color} on {row.hex}")
        table.add_row(row.text, *_field_values(row), swatch)
    return table


def print_predictions(console: Any, predictions: list[Prediction], version: str) -> None:
    """The table where the terminal is wide enough for it; else a block per colour, a field a
    line, so that no number is cut to fit (a squeezed table shows `…` in every cell)."""
    from rich.text import Text

    table = prediction_table(predictions, version)
    # Its natural width, measured as if the terminal had no edge (a measure clamps to it).
    natural = console.measure(table, options=console.options.update_width(10_000)).maximum
    if natural <= console.width:
        console.print(table)
        return
    console.print(Text(f"answered by {version}", style="italic"), soft_wrap=True)
    for row in predictions:
        console.print(Text(f" {row.text} ", style=f"{row.text_color} on {row.hex}"), soft_wrap=True)
        for label, value in zip(_FIELDS, _field_values(row), strict=True):
            console.print(Text.assemble(f"  {label:<10} ", value), soft_wrap=True)
    console.print(Text(_CAPTION, style="dim"), soft_wrap=True)


def _verdict_text(passes: bool) -> Text:
    from rich.text import Text

    return Text("pass", style="bold green") if passes else Text("FAIL", style="bold red")
