"""The shared parts of the `fontpipe` command: the typer app, and turning a FontpipeError into one
line on stderr with exit code 2."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from cli.console import err_console, error_line
from cli.json_output import emit_json as emit_json  # where commands find it
from fontpipe.errors import FontpipeError

# Plain (not rich-markup) help: "[default: ...]" in a help text is shown as written instead of
# being taken for markup, and flags read as flags.
app = typer.Typer(
    name="fontpipe",
    help="Learn whether black or white text reads best on any background colour.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

F = TypeVar("F", bound=Callable[..., Any])


def _print_version(value: bool) -> None:
    if value:
        import fontpipe

        print(f"fontpipe {fontpipe.__version__}")
        raise typer.Exit()


@app.callback()
def _group(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print fontpipe's version and exit (`fontpipe version` lists its libraries too).",
    ),
) -> None:
    """Learn whether black or white text reads best on any background colour."""


def user_errors(command: F) -> F:
    """Print a FontpipeError as one line on stderr and exit 2, instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except FontpipeError as exc:
            err_console.print(error_line(str(exc)), soft_wrap=True)
            raise typer.Exit(code=exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


def parse_floats(text: str, option: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise FontpipeError(f"{option}: expected comma-separated numbers, got {text!r}") from None


def json_option() -> Any:
    return typer.Option(
        False,
        "--json",
        help="Print one JSON document on stdout instead of tables (schemas in schemas/).",
    )
