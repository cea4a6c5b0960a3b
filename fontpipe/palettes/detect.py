"""Which column(s) of a table hold the colour: named by the caller, or found, never guessed.

In order: `--rgb-columns` / `--color-column` as given; channel columns `r,g,b` or
`red,green,blue` (any case, but two names that differ only in case are refused); one column named
exactly `color` or `colour` (any case); otherwise the columns whose names hint at a colour
(`background`, `bg`, `hex`, ...), of which one is taken only when it is the only one whose
sampled values parse as colours. Anything else is an error that lists the candidates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeAlias

import pyarrow as pa

from fontpipe.color.css import parse_color_strings
from fontpipe.errors import FontpipeError

COLOR_NAME_HINTS: Final = ("color", "colour", "hex", "background", "bg", "rgb")
EXACT_NAMES: Final = ("color", "colour")
CHANNEL_TRIOS: Final = (("r", "g", "b"), ("red", "green", "blue"))
SAMPLE_ROWS: Final = 200  # rows read to tell which hinted column holds colours
# A hinted column "parses as colours" when at least this share of its sampled non-empty values
# do: a few bad rows (quarantined later) do not hide the colour column, and a column of words or
# numbers does not pass for one.
PARSING_SHARE: Final = 0.5

Sample: TypeAlias = pa.Table | pa.RecordBatch | Callable[[], pa.Table | pa.RecordBatch]


@dataclass(frozen=True)
class ColorSpec:
    """Where the colour is in a table: one text column, or three channel columns."""

    color_column: str | None = None
    rgb_columns: tuple[str, str, str] | None = None


def detect_color_spec(
    names: list[str],
    color_column: str | None = None,
    rgb_columns: tuple[str, str, str] | None = None,
    sample: Sample | None = None,
) -> ColorSpec:
    """Pick the colour column(s) of a schema, or check the ones the user named.

    `sample` (the first rows, or a function that reads them) settles a choice among columns
    whose names hint at a colour; without it, more than one such column is an error.
    """
    if color_column and rgb_columns:
        raise FontpipeError("give either --color-column or --rgb-columns, not both")
    if rgb_columns:
        return ColorSpec(rgb_columns=_named_channels(names, rgb_columns))
    if color_column:
        if color_column not in names:
            raise FontpipeError(
                f"--color-column: no column {color_column!r} (columns: {', '.join(names)})"
            )
        return ColorSpec(color_column=color_column)
    trio = _channel_trio(names)
    if trio is not None:
        return ColorSpec(rgb_columns=trio)
    exact = [n for n in names if n.lower() in EXACT_NAMES]
    if len(exact) > 1:
        raise FontpipeError(
            f"columns {_listed(exact)} could each be the colour; name one with --color-column"
        )
    if exact:
        return ColorSpec(color_column=exact[0])
    hinted = [n for n in names if any(h in n.lower() for h in COLOR_NAME_HINTS)]
    if not hinted:
        raise FontpipeError(
            f"no colour column found among {', '.join(names)}: expected r,g,b or red,green,blue "
            "columns, or a hex/rgb() column named like 'color'; name it with --color-column or "
            "--rgb-columns"
        )
    return ColorSpec(color_column=_hinted_choice(hinted, sample))


def _listed(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names)


def _case_groups(names: list[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(name.lower(), []).append(name)
    return groups


def _named_channels(names: list[str], wanted: tuple[str, str, str]) -> tuple[str, str, str]:
    groups = _case_groups(names)
    found: list[str] = []
    missing = []
    for column in wanted:
        if column in names:
            found.append(column)
            continue
        same = groups.get(column.lower(), [])
        if len(same) > 1:
            raise FontpipeError(
                f"--rgb-columns: {column!r} matches columns {_listed(same)}, which differ only "
                "in case; give the exact name"
            )
        if not same:
            missing.append(column)
        else:
            found.append(same[0])
    if missing:
        raise FontpipeError(
            f"--rgb-columns: no column {', '.join(missing)} (columns: {', '.join(names)})"
        )
    return found[0], found[1], found[2]


def _channel_trio(names: list[str]) -> tuple[str, str, str] | None:
    groups = _case_groups(names)
    for trio in CHANNEL_TRIOS:
        if not all(c in groups for c in trio):
            continue
        clashes = [n for c in trio if len(groups[c]) > 1 for n in groups[c]]
        if clashes:
            # r,g,b,R: which one is red? Refused rather than picked by position.
            raise FontpipeError(
                f"channel columns {_listed(clashes)} differ only in case; name the three to use "
                "with --rgb-columns"
            )
        return groups[trio[0]][0], groups[trio[1]][0], groups[trio[2]][0]
    return None


def _hinted_choice(hinted: list[str], sample: Sample | None) -> str:
    """The one hinted column whose sampled values are colours; an error naming the candidates
    when there is not exactly one."""
    if sample is None:
        if len(hinted) == 1:
            return hinted[0]
        raise FontpipeError(
            f"columns {_listed(hinted)} could each be the colour; name one with --color-column"
        )
    rows = sample() if callable(sample) else sample
    parsing = [n for n in hinted if n in rows.schema.names and _parses_as_colours(rows.column(n))]
    if len(parsing) == 1:
        return parsing[0]
    if not parsing:
        raise FontpipeError(
            f"no column holds colours: {_listed(hinted)} are named like one, but their first "
            f"{rows.num_rows} values are not colours; name the colour column with --color-column"
        )
    raise FontpipeError(
        f"columns {_listed(parsing)} each hold colours; name the one to score with --color-column"
    )


def _parses_as_colours(column: pa.Array | pa.ChunkedArray) -> bool:
    kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return False  # numbers are never colours (see fontpipe.color.css)
    head = column.slice(0, SAMPLE_ROWS).to_pylist()
    values = [v for v in head if v is not None and v.strip()]
    if not values:
        return False
    parsed = parse_color_strings(sorted(set(values)))
    good = {v for v, ok in zip(sorted(set(values)), parsed.valid.tolist(), strict=True) if ok}
    return sum(v in good for v in values) >= PARSING_SHARE * len(values)
