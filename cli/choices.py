"""Options with a fixed set of values, as Enums: `--help` lists the choices, a typo is refused
by the parser with the list, and shells complete them."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any


class Rule(str, Enum):
    mean = "mean"
    wcag = "wcag"
    yiq = "yiq"
    apca = "apca"
    readable = "readable"


class Sampling(str, Enum):
    uniform_int = "uniform-int"
    uniform_float = "uniform-float"
    boundary = "boundary"
    cube = "cube"


class OnError(str, Enum):
    fail = "fail"
    quarantine = "quarantine"


class Scale(str, Enum):
    byte = "255"
    unit = "1"


class RecipeChoice(str, Enum):
    question = "question"
    answer = "answer"


class Schedule(str, Enum):
    cosine = "cosine"
    exponential = "exponential"
    constant = "constant"


class Architecture(str, Enum):
    mlp = "mlp"
    channel_tables = "channel-tables"


class ExportFormat(str, Enum):
    savedmodel = "savedmodel"
    onnx = "onnx"
    tflite = "tflite"
    json = "json"


def champion_family(value: str | None) -> str | None:
    """`--rule` where it names whose champion answers: a labelling rule, or a family of human
    labels (`human:<name>`, from `fontpipe import-labels`), which an Enum cannot list."""
    import typer

    from fontpipe.schema import HUMAN_PREFIX, RULE_NAMES

    if value is None or value in RULE_NAMES:
        return value
    if value.startswith(HUMAN_PREFIX) and value[len(HUMAN_PREFIX) :].strip():
        return value
    raise typer.BadParameter(f"{value!r}: expected one of {', '.join(RULE_NAMES)} or human:<name>")


def family_names(incomplete: str) -> list[str]:
    """Shell completion for `--rule`: the labelling rules (human families are the user's)."""
    from fontpipe.schema import RULE_NAMES

    return [name for name in RULE_NAMES if name.startswith(incomplete)]


ANSWERING_RULE_HELP = (
    "Whose champion answers for `--model champion`: readable (AA kept, then the perceptually "
    "stronger text), wcag (the browser's contrast-color() answer), apca, mean, yiq, or "
    "human:<name> for a family of imported labels."
)


# Every choice in help is listed one way, as typer lists an Enum's: `<a|b|c>`.
def choice_metavar(values: Iterable[str]) -> str:
    return "<" + "|".join(values) + ">"


RULE_METAVAR = choice_metavar(member.value for member in Rule)
FAMILY_METAVAR = choice_metavar([*(member.value for member in Rule), "human:<name>"])


def family_option(default: str | None, help: str) -> Any:
    """A `--rule` option naming whose champion answers (see `champion_family`)."""
    import typer

    return typer.Option(
        default,
        metavar=FAMILY_METAVAR,
        callback=champion_family,
        autocompletion=family_names,
        help=help,
    )
