"""`fontpipe predict` once its options are parsed: answer, then print a table or one JSON
document. Free of typer, so that both parsers call it: the `predict` command in `cli.scoring`,
and `cli.app`'s quick start for the plain forms of a look-up. Either way a look-up prints the
same bytes, the same errors and the same exit codes.

Rich loads only for a table or an error; a JSON answer is written without it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.json_output import emit_json
from fontpipe.errors import FontpipeError
from fontpipe.settings import Settings

if TYPE_CHECKING:
    from rich.table import Table

    from fontpipe.predict import Prediction


def run_predict(
    colors: list[str] | None,
    model: str,
    rule: str | None,
    models_dir: Path | None,
    backdrop: str,
    as_json: bool,
) -> None:
    """Answer for each colour (one per line on stdin when none are given); a FontpipeError says
    what is wrong."""
    from fontpipe.color.css import parse_backdrop
    from fontpipe.predict import answering_version, predict_colors

    version_path = answering_version(model, models_dir or Settings.from_env().models_dir, rule)
    texts = colors or [line.strip() for line in sys.stdin if line.strip()]
    if not texts:
        raise FontpipeError("no colours given: pass them as arguments or one per line on stdin")
    predictions = predict_colors(version_path, texts, parse_backdrop(backdrop))
    if as_json:
        emit_json(prediction_document(predictions, version_path.name))
        return
    from cli.console import console

    console.print(prediction_table(predictions, version_path.name))


def prediction_document(predictions: list[Prediction], version: str) -> dict[str, Any]:
    """The `--json` document (schemas/predict.json)."""
    return {
        "model_version": version,
        "predictions": [
            {
                "color": row.text,
                "srgb_hex": row.hex,
                "p_black": row.p_black,
                "text_color": row.text_color,
                "contrast_ratio": row.contrast_ratio,
                "contrast_black": row.contrast_black,
                "contrast_white": row.contrast_white,
                "wcag_aa": row.wcag_aa,
                "apca_lc_black": row.apca_lc_black,
                "apca_lc_white": row.apca_lc_white,
            }
            for row in predictions
        ],
    }


def prediction_table(predictions: list[Prediction], version: str) -> Table:
    """The look-ups as a table, with a swatch of each colour in its chosen text."""
    from rich.table import Table
    from rich.text import Text

    table = Table(show_header=True, title=f"answered by {version}")
    numeric = {"P(black)", "contrast", "black text", "white text", "Lc black", "Lc white"}
    for column in (
        "colour",
        "P(black)",
        "text",
        "contrast",
        "AA",
        "black text",
        "white text",
        "Lc black",
        "Lc white",
        "swatch",
    ):
        table.add_column(column, justify="right" if column in numeric else "left")
    for row in predictions:
        swatch = Text(f" {row.text} ", style=f"{row.text_color} on {row.hex}")
        table.add_row(
            row.text,
            f"{row.p_black:.4f}",
            row.text_color,
            f"{row.contrast_ratio:.2f}:1",
            Text("pass", style="bold green") if row.wcag_aa else Text("FAIL", style="bold red"),
            f"{row.contrast_black:.2f}:1",
            f"{row.contrast_white:.2f}:1",
            f"{row.apca_lc_black:.1f}",
            f"{row.apca_lc_white:.1f}",
            swatch,
        )
    return table
