"""A plain `fontpipe score` parsed without typer: typer, click and the commands' modules cost
about 0.35 s of every job's start-up, which decides small jobs (a palette file, a few million
rows). `quick_score_request` reads the plain forms as typer would (options among the inputs,
`--opt value` or `--opt=value`, the last one counts) and answers None for anything else (help,
an option it does not take, a value typer would refuse or that reads like an option, `--`), which
then goes to typer. Both routes call `cli.score_run.run_score`, so they print the same bytes and
exit alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# The options taken here, and ScoreRequest's fields they fill; with, for choices, the values
# typer accepts.
_VALUES = {
    "--out": "out",
    "--model": "model",
    "--rule": "rule",
    "--models-dir": "models_dir",
    "--color-column": "color_column",
    "--rgb-columns": "rgb_columns",
    "--backdrop": "backdrop",
    "--delimiter": "delimiter",
    "--on-error": "on_error",
    "--value-style": "value_style",
    "--report": "report",
}
_CHOICES = {"on_error": ("fail", "quarantine"), "value_style": ("hex", "keyword")}
_PATHS = ("models_dir", "report")


def quick_score_request(args: list[str]) -> Any:
    """A `cli.score_run.ScoreRequest` for `score` in a plain form, or None for typer."""
    from cli.app import plain_options

    parsed = plain_options(args, "score", _VALUES)
    if parsed is None:
        return None
    inputs, options = parsed
    options["inputs"] = inputs
    if not options["inputs"] or "out" not in options or not _plain_values(options):
        return None
    for field in _PATHS:
        if field in options:
            options[field] = Path(options[field])
    from cli.score_run import ScoreRequest

    return ScoreRequest(**options)


def _plain_values(options: dict[str, Any]) -> bool:
    """Every value as typer would take it: a choice among its values, an answering rule, and a
    path that is readable where it exists (click's Path)."""
    from cli.app import is_answering_rule, readable_where_it_exists

    for field, allowed in _CHOICES.items():
        if field in options and options[field] not in allowed:
            return False
    if "rule" in options and not is_answering_rule(options["rule"]):
        return False
    return all(readable_where_it_exists(options[field]) for field in _PATHS if field in options)
