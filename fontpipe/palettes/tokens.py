"""W3C Design Tokens files: every colour token, by its path, aliases resolved.

A token is an object with `$value`; its type is its own `$type`, the nearest group's, or (for an
alias without one) its target's. A colour value is a CSS colour string, or an object
`{colorSpace, components, alpha}` (the format's newer form), written as the equivalent CSS
function. Each token becomes one row (`fontpipe.palettes.named`): `token` is its dotted path,
`context` its JSON Pointer, so a nested `{"group": {"red": ..}}` and a literal key
`{"group.red": ..}` are two rows, never one replacing the other.

Refused with the reason, as rows: a colour token whose value is no colour (`123`, `true`), an
alias loop, an alias to a token that does not exist or that two tokens' dotted paths share.
Tokens of other types (dimensions, fonts) are not rows; they are counted as skipped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pyarrow as pa

from fontpipe.color.css import COLOR_SPACES, ColorSyntaxError, parse_color
from fontpipe.errors import FontpipeError
from fontpipe.palettes.named import NamedColours
from fontpipe.storage import read_text

MAX_DEPTH: Final = 200  # groups nested deeper than this are refused (no real file comes near)
_ALIAS: Final = re.compile(r"^\{([^{}]+)\}$")
_LAB_SPACES: Final = {"hsl", "hwb", "lab", "lch", "oklab", "oklch"}
_COLOR_SPACES: Final = frozenset(COLOR_SPACES)


@dataclass(frozen=True)
class _Token:
    pointer: str  # JSON Pointer (RFC 6901): unambiguous
    dotted: str  # the path aliases use: `{group.red}`
    kind: str | None  # $type, own or inherited
    value: Any


def read_design_tokens(path: str | Path) -> pa.Table:
    """The colour tokens of a design tokens file as a table (`fontpipe.palettes.named`)."""
    return design_token_colours(path).table()


def design_token_colours(path: str | Path) -> NamedColours:
    """Every colour token of a design tokens file, row by row, with what was skipped."""
    try:
        tree = json.loads(read_text(path))
    except RecursionError:
        raise FontpipeError(
            f"{path}: design tokens nested too deeply to read (more than {MAX_DEPTH} levels)"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise FontpipeError(f"{path}: not a JSON design tokens file ({exc})") from None
    if not isinstance(tree, dict):
        raise FontpipeError(f"{path}: a design tokens file is a JSON object of groups and tokens")
    tokens = _walk(tree, path)
    by_dotted: dict[str, list[_Token]] = {}
    for token in tokens:
        by_dotted.setdefault(token.dotted, []).append(token)
    found = NamedColours()
    for token in tokens:
        try:
            kind, value = _resolved(token, by_dotted)
        except _Unresolved as why:
            if token.kind not in (None, "color"):
                found.skipped += 1  # a dimension's broken alias is not the palette's business
            else:
                found.add(token.dotted, token.pointer, _written(token.value), str(why))
            continue
        if kind != "color":
            found.skipped += 1
            continue
        css, reason = _token_css(value)
        found.add(token.dotted, token.pointer, css, reason)
    return found


def _pointer(parts: list[str]) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def _walk(tree: dict[str, Any], path: str | Path) -> list[_Token]:
    """Every token in document order, without recursion (a hostile file nests thousands deep)."""
    tokens: list[_Token] = []
    stack: list[tuple[dict[str, Any], list[str], str | None]] = [(tree, [], None)]
    while stack:
        node, parts, inherited = stack.pop()
        if len(parts) > MAX_DEPTH:
            raise FontpipeError(
                f"{path}: design tokens nested more than {MAX_DEPTH} levels deep "
                f"(at {_pointer(parts[:3])}/...)"
            )
        declared = node.get("$type", inherited)
        kind = declared if isinstance(declared, str) else inherited
        if "$value" in node:
            tokens.append(_Token(_pointer(parts), ".".join(parts), kind, node["$value"]))
            continue
        children = [
            (child, [*parts, key], kind)
            for key, child in node.items()
            if not key.startswith("$") and isinstance(child, dict)
        ]
        stack.extend(reversed(children))
    return tokens


class _Unresolved(Exception):
    """An alias that leads nowhere; the message is the reason."""


def _resolved(token: _Token, by_dotted: dict[str, list[_Token]]) -> tuple[str | None, Any]:
    """The token's type and value, following aliases (`{group.red}`) to a value."""
    chain = [token]
    current = token
    kind = token.kind
    while isinstance(current.value, str) and (alias := _ALIAS.match(current.value.strip())):
        target_name = alias.group(1)
        targets = by_dotted.get(target_name, [])
        if not targets:
            raise _Unresolved(f"alias {{{target_name}}}: no token {target_name!r}")
        if len(targets) > 1:
            where = " and ".join(t.pointer for t in targets)
            raise _Unresolved(f"alias {{{target_name}}} is ambiguous: it names {where}")
        target = targets[0]
        if target in chain:
            loop = " -> ".join(f"{{{t.dotted}}}" for t in [*chain[chain.index(target) :], target])
            raise _Unresolved(f"alias loop: {loop}")
        chain.append(target)
        current = target
        kind = kind or target.kind
    return kind, current.value


def _written(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _token_css(value: Any) -> tuple[str, str | None]:
    """A colour token's value as CSS text, and the reason it is no colour (None when it is)."""
    if isinstance(value, str):
        return value, None  # the colour parser gives any reason
    if isinstance(value, dict) and "colorSpace" in value and "components" in value:
        return _object_css(value)
    if isinstance(value, bool) or value is None:
        return _written(value), f"{_written(value)} is not a colour"
    if isinstance(value, (int, float)):
        return _written(value), "a number, not a colour"
    return _written(value), "not a colour (expected a CSS colour string or a colour object)"


def _object_css(value: dict[str, Any]) -> tuple[str, str | None]:
    written = json.dumps(value)
    space = str(value["colorSpace"])
    components = value["components"]
    alpha = value.get("alpha", 1)
    numbers = isinstance(components, list) and len(components) == 3
    numbers = numbers and all(c == "none" or _is_number(c) for c in components)
    if not numbers or not _is_number(alpha):
        return written, "invalid colour object (expected three numeric components and alpha)"
    if space not in _LAB_SPACES | _COLOR_SPACES:
        return written, f"invalid colour object: unknown colorSpace {space!r}"
    parts = " ".join(str(c) for c in components)
    suffix = "" if alpha == 1 else f" / {alpha}"
    css = f"{space}({parts}{suffix})" if space in _LAB_SPACES else f"color({space} {parts}{suffix})"
    try:
        parse_color(css)
    except ColorSyntaxError as exc:
        return css, str(exc)
    return css, None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
