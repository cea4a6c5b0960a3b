"""The shared parts of the `fontpipe` command: the typer app, and turning a FontpipeError into one
line on stderr with exit code 2."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from cli.console import err_console
from fontpipe.errors import FontpipeError

app = typer.Typer(
    name="fontpipe",
    help="Learn whether black or white text reads best on any background colour.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

F = TypeVar("F", bound=Callable[..., Any])


@app.callback()
def _group() -> None:
    """Learn whether black or white text reads best on any background colour."""


def user_errors(command: F) -> F:
    """Print a FontpipeError as one line on stderr and exit 2, instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except FontpipeError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
            raise typer.Exit(code=exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


def parse_floats(text: str, option: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise FontpipeError(f"{option}: expected comma-separated numbers, got {text!r}") from None
