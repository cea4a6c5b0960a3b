"""Palettes that name their colours (design tokens, stylesheets), as the table they are scored
from: one row per colour, with where it was defined, and the reader's own verdict on rows it
could not resolve.

These files are small and read whole. The reader knows things about a row that its colour text
cannot say (a `var()` cycle, an alias to a missing token, the line it sits on), so it records a
reason for each such row in the table's schema metadata (`REJECTS_KEY`: row index -> reason);
`fontpipe.palettes.parse.parse_colors` rejects those rows with that reason. How many entries were
not colours at all (spacing, fonts, numbers) is recorded under `SKIPPED_KEY`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Final

import pyarrow as pa

# The columns every named palette becomes: the token's name (`--color-red-500`, `color.red.500`),
# where it was defined (a stylesheet's at-rules and selector, plus `light`/`dark` for each side
# of light-dark(); a token's JSON Pointer, which tells `{"a": {"b": ..}}` from `{"a.b": ..}`), and
# the colour (resolved through var() and aliases; as written when it could not be resolved).
TOKEN_COLUMNS: Final = ("token", "context", "color")
REJECTS_KEY: Final = b"fontpipe.rejects"
SKIPPED_KEY: Final = b"fontpipe.skipped"


@dataclass
class NamedColours:
    """What a design tokens file or a stylesheet holds, row by row."""

    tokens: list[str] = field(default_factory=list)
    contexts: list[str] = field(default_factory=list)
    colors: list[str] = field(default_factory=list)
    rejects: dict[int, str] = field(default_factory=dict)  # row index -> why it is refused
    skipped: int = 0  # entries that are not colours (spacing, fonts, numbers): not rows at all

    def add(self, token: str, context: str, color: str, reject: str | None = None) -> None:
        if reject is not None:
            self.rejects[len(self.tokens)] = reject
        self.tokens.append(token)
        self.contexts.append(context)
        self.colors.append(color)

    def table(self) -> pa.Table:
        """One record batch (the reasons are by row index), with the verdicts in its metadata."""
        metadata = {
            REJECTS_KEY: json.dumps({str(k): v for k, v in self.rejects.items()}).encode(),
            SKIPPED_KEY: str(self.skipped).encode(),
        }
        schema = pa.schema([(name, pa.string()) for name in TOKEN_COLUMNS], metadata=metadata)
        columns = [self.tokens, self.contexts, self.colors]
        return pa.table(columns, schema=schema).combine_chunks()


def row_rejects(schema: pa.Schema) -> dict[int, str]:
    """The reasons a named palette's reader recorded for its rows (none for other tables)."""
    raw = (schema.metadata or {}).get(REJECTS_KEY)
    if raw is None:
        return {}
    return {int(row): str(reason) for row, reason in json.loads(raw).items()}


def skipped_entries(schema: pa.Schema) -> int:
    """How many entries of a named palette were not colours (0 for other tables)."""
    return int((schema.metadata or {}).get(SKIPPED_KEY, b"0"))
