"""The one exception type users see. The CLI turns it into a one-line message and exit code 2."""

from __future__ import annotations

# pydantic loads on first use: the command line's help and look-ups never validate a config.
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

ConfigT = TypeVar("ConfigT", bound="BaseModel")


class FontpipeError(Exception):
    """A problem with the user's input or environment, worded for the user.

    Raised before anything is written, so a caller that catches it knows no output was left behind.
    """

    exit_code = 2


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming each invalid field, e.g. 'invalid config: rows: Input should be > 0'."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "config"
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "invalid config: " + "; ".join(parts)


def build_config(config_type: type[ConfigT], **values: Any) -> ConfigT:
    """A validated config, or a FontpipeError that the CLI prints as one line (exit code 2)."""
    # Imported here: quick look-ups import this module and never validate a config.
    from pydantic import ValidationError

    try:
        return config_type(**values)
    except ValidationError as exc:
        raise FontpipeError(describe_validation_error(exc)) from None
