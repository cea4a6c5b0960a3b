"""Terminal output shared by the CLI commands: one console, one progress-bar style.

Everything the CLI prints holds user text (file names, column names, version and rule names),
so the consoles print strings as written: no rich markup (`[bold]x[/bold].csv` is a file name,
and `[/x]` would raise), no emoji codes (`a:smile:.csv`), no highlighting. Styled words are
`Text` objects with a style, never markup in a string.
"""

from __future__ import annotations

import functools
import sys
from typing import TYPE_CHECKING, Any

from rich.console import Console, RenderableType
from rich.text import Text

if TYPE_CHECKING:
    from rich.progress import Progress, TextColumn
    from rich.status import Status


class LiteralConsole(Console):
    """A rich console that prints every string literally, status lines included."""

    def __init__(self, **options: Any) -> None:
        super().__init__(markup=False, emoji=False, highlight=False, **options)

    def status(self, status: RenderableType, **options: Any) -> Status:
        text = Text(status) if isinstance(status, str) else status
        return _literal_status()(text, console=self, **options)


@functools.cache
def _literal_status() -> type[Status]:
    # rich.status (and rich.live under it) is imported here: quick look-ups never show a status.
    from rich.status import Status

    class LiteralStatus(Status):
        """A status line whose text is shown as written (rich's own parses a str as markup)."""

        def update(self, status: RenderableType | None = None, **options: Any) -> None:
            super().update(Text(status) if isinstance(status, str) else status, **options)

    return LiteralStatus


# Piped or redirected output is read by programs and people alike: never cut a field to fit an
# 80-column guess (a version name cut to `20261128…` cannot be passed to `promote`). The same
# for stderr: a log file gets each progress line whole (rich prints a bar's last state there once,
# when it stops, as one line per task), never cut or folded at a width.
UNCUT_WIDTH = 1_000
console = LiteralConsole(width=None if sys.stdout.isatty() else UNCUT_WIDTH)
err_console = LiteralConsole(stderr=True, width=None if sys.stderr.isatty() else UNCUT_WIDTH)


def styled(text: str, style: str) -> Text:
    """`text` as written, in `style`."""
    return Text(text, style=style)


def error_line(message: str) -> Text:
    """`error: <message>`, the message as written."""
    return Text.assemble(("error:", "bold red"), " ", message)


def progress_bar(*extra_columns: TextColumn) -> Progress:
    # rich.progress is imported here: quick look-ups never draw a bar.
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        *extra_columns,
        console=err_console,
        transient=False,
    )
