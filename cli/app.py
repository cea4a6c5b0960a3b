"""The `fontpipe` command. Each command parses its options, calls one library function (or, for
the Prefect routes, one flow) and prints a summary. Imports are inside the commands, so a quick
look-up loads only what it uses.

The commands live in `cli.pipeline`, `cli.scoring` and `cli.models`; importing them registers them
on `app`.
"""

from __future__ import annotations

import sys

from cli import about, models, pipeline, scoring  # noqa: F401  (registers the commands)
from cli.base import app
from cli.console import err_console

__all__ = ["app", "main"]


def main() -> None:
    from flows.environment import apply_environment_defaults

    apply_environment_defaults()
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted; nothing half-written was left behind")
        sys.exit(130)


if __name__ == "__main__":
    main()
