"""The shared parts of the `fontpipe` command: the typer app, turning a FontpipeError into one
line on stderr with exit code 2, and the wording of defaults in `--help`."""

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
    # Bare `fontpipe` prints its help and exits 0 (`_group`): click's no_args_is_help exits 2,
    # which reads as a failure to a script that only asked what the command does.
    no_args_is_help=False,
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


@app.callback(invoke_without_command=True)
def _group(
    context: typer.Context,
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print fontpipe's version and exit (`fontpipe version` lists its libraries too).",
    ),
) -> None:
    """Learn whether black or white text reads best on any background colour."""
    help_when_bare(context)


def help_when_bare(context: typer.Context) -> None:
    """A group called without a command: its help on stdout, exit 0."""
    if context.invoked_subcommand is None:
        print(context.get_help())
        raise typer.Exit()


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


# Every default that is not a plain value is written in help as typer writes the others, two
# spaces after the sentence: `Labelling rule.  [default: mean]`.
DATA_ROOT_ENV = "FONTPIPE_DATA"


def with_default(text: str, default: str) -> str:
    """`text`, then its default in typer's own form."""
    return f"{text}  [default: {default}]"


def under_data_root(text: str, below: str) -> str:
    """`text`, then a default under the data root, which the FONTPIPE_DATA environment variable
    moves: help names the variable, so a default that is not where `data/` suggests is found."""
    return with_default(
        text, f"${DATA_ROOT_ENV}/{below}, or data/{below} when {DATA_ROOT_ENV} is unset"
    )


def models_dir_option() -> Any:
    """`--models-dir`: a registry other than the one under the data root."""
    return typer.Option(None, help=under_data_root("Model registry.", "models"))
