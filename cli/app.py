"""The `fontpipe` command. Each command parses its options, calls one library function (or, for
the Prefect routes, one flow) and prints a summary. Imports are inside the commands, so a quick
look-up loads only what it uses.

The commands live in `cli.pipeline`, `cli.labels`, `cli.evaluate`, `cli.scoring` and
`cli.models`; importing them registers them on `app`.

A look-up in its plain forms (`fontpipe predict COLOR...|- [--model M] [--rule R] [--models-dir D]
[--backdrop B] [--json]`) is parsed here without typer: typer, click and the commands' modules
cost a look-up more time than its answer. Both routes call `cli.predict.run_predict` and report
its errors alike, so they print the same bytes and exit with the same codes; anything else (help,
an unknown or malformed option, shell completion) goes to typer. A plain `score` is parsed
without typer too (`cli.quick_score`), for the same reason: start-up decides small jobs.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

    app: typer.Typer  # built on first use by `__getattr__`

__all__ = ["app", "main"]

# `predict`'s options that take a value, and its parameters they fill.
_PREDICT_VALUES = {
    "--model": "model",
    "--rule": "rule",
    "--models-dir": "models_dir",
    "--backdrop": "backdrop",
}


def main() -> None:
    from flows.environment import apply_environment_defaults

    apply_environment_defaults()
    # A terminated command (`timeout`, a cancelled flow run, `docker stop`) unwinds like an
    # interrupted one, so its staging folders, `.tmp-*` files and locks are removed on the way out.
    signal.signal(signal.SIGTERM, _terminated)
    try:
        options = quick_predict_options(sys.argv[1:])
        if options is not None:
            from cli.predict import run_predict

            sys.exit(run_quick(run_predict, **options))
        from cli.quick_score import quick_score_request

        request = quick_score_request(sys.argv[1:])
        if request is not None:
            from cli.score_run import run_score

            sys.exit(run_quick(run_score, request))
        _typer_app()()
    except KeyboardInterrupt:
        from cli.console import err_console

        err_console.print("interrupted; nothing half-written was left behind")
        sys.exit(130)


def __getattr__(name: str) -> Any:
    # `app` is built on first use, so that the quick look-up never imports typer.
    if name == "app":
        return _typer_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _typer_app() -> typer.Typer:
    from cli import about, evaluate, labels, models, pipeline, scoring  # noqa: F401  (registers the commands)
    from cli.base import app

    return app


def quick_predict_options(args: list[str]) -> dict[str, Any] | None:
    """`run_predict`'s arguments for `predict` in a plain form, parsed as typer parses them
    (options among the colours, `--opt value` or `--opt=value`, the last one counts); None for
    anything typer should see: another command, help, an option that is not `predict`'s, a value
    typer would refuse or that reads like an option, `--`, or a shell asking for completions."""
    from fontpipe.schema import DEFAULT_ANSWER_RULE

    options: dict[str, Any] = {
        "colors": [],
        "model": "champion",
        "rule": DEFAULT_ANSWER_RULE,
        "models_dir": None,
        "backdrop": "white",
        "as_json": False,
    }
    parsed = plain_options(args, "predict", _PREDICT_VALUES, positional_dash=True)
    if parsed is None:
        return None
    positional, given = parsed
    options.update(given)
    options["colors"] = positional
    if not is_answering_rule(options["rule"]):
        return None
    if options["models_dir"] is not None:
        if not readable_where_it_exists(options["models_dir"]):
            return None
        options["models_dir"] = Path(options["models_dir"])
    options["colors"] = options["colors"] or None
    return options


def plain_options(
    args: list[str], command: str, values: dict[str, str], *, positional_dash: bool = False
) -> tuple[list[str], dict[str, Any]] | None:
    """`command`'s arguments (`args` begins with its name) in a plain form, as typer parses them:
    (the positional arguments, {field: value} for the `values` options and `as_json` for
    `--json`), options among the positionals, `--opt value` or `--opt=value`, the last one
    counting; None for anything typer should see (another command, an option not in `values`, a
    value missing or reading like an option, `--`, a NUL, a shell asking for completions).
    `positional_dash`: a lone `-` is a positional (standard input)."""
    if not args or args[0] != command or any(is_completion(name) for name in os.environ):
        return None
    positional: list[str] = []
    given: dict[str, Any] = {}
    rest = iter(args[1:])
    for arg in rest:
        if "\0" in arg:
            return None
        if not arg.startswith("-") or (positional_dash and arg == "-"):
            positional.append(arg)
            continue
        if arg == "--json":
            given["as_json"] = True
            continue
        name, equals, value = arg.partition("=")
        if name not in values:
            return None
        if not equals:
            value = next(rest, "")
        if not value or value.startswith("-") or "\0" in value:
            return None
        given[values[name]] = value
    return positional, given


def run_quick(command: Callable[..., int], *args: Any, **options: Any) -> int:
    """A command's work called without typer (`run_predict`, `run_score`), its outcome reported
    as typer and `cli.base.user_errors` report it; the exit code."""
    from fontpipe.errors import FontpipeError

    try:
        code = command(*args, **options)
    except FontpipeError as exc:
        from cli.console import err_console, error_line

        err_console.print(error_line(str(exc)), soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        # A reader that went away (`| head`): no traceback, nothing more to flush.
        sys.stdout = _Pacified(sys.stdout)
        sys.stderr = _Pacified(sys.stderr)
        return 1
    return code


def is_answering_rule(value: str) -> bool:
    """What `cli.choices.champion_family` accepts for `--rule`."""
    from fontpipe.schema import HUMAN_PREFIX, RULE_NAMES

    if value in RULE_NAMES:
        return True
    return value.startswith(HUMAN_PREFIX) and bool(value[len(HUMAN_PREFIX) :].strip())


def readable_where_it_exists(path: str) -> bool:
    """What typer's (click's) Path type accepts: a path that exists must be readable."""
    return not (os.path.exists(path) and not os.access(path, os.R_OK))


def is_completion(variable: str) -> bool:
    return variable.startswith("_") and variable.endswith("_COMPLETE")


class _Pacified:
    """A stream whose flush ignores a closed pipe, as click's PacifyFlushWrapper."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped

    def flush(self) -> None:
        try:
            self.wrapped.flush()
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    main()
