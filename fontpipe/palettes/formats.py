"""The file shapes palettes come in, told apart by suffix, and how each names its columns.

| suffix | read as |
|---|---|
| `.parquet`, `.pq` | Parquet |
| `.csv`, `.tsv` | CSV; the delimiter (`,` `;` tab `|`) sniffed from the header, or given |
| `.csv.gz`, `.csv.bz2`, `.csv.zst` (and `.tsv.*`) | the same, decompressed as a stream |
| `.jsonl`, `.ndjson` | one JSON object per line; its keys are the columns |
| `.json` | W3C Design Tokens: every `$type: color` token, named by its dotted path |
| `.css` | a stylesheet's custom properties (`--color-red-500: oklch(...)`) |

Design tokens and stylesheets are small and read whole into a two-column table (`token`,
`color`); the other shapes are read in parts with bounded memory (`fontpipe.scoring.read`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import pyarrow as pa

from fontpipe.color.css import ColorSyntaxError, parse_color
from fontpipe.errors import FontpipeError
from fontpipe.storage import name_of, open_stream, read_text

InputKind = Literal["parquet", "csv", "jsonl", "tokens", "css"]
COMPRESSIONS: Final = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd"}
DELIMITERS: Final = (",", ";", "\t", "|")
TOKEN_COLUMNS: Final = ("token", "color")  # what design tokens and stylesheets become
HEADER_LIMIT: Final = 1 << 20


@dataclass(frozen=True)
class InputFormat:
    kind: InputKind
    compression: str | None = None  # Arrow's codec name, for compressed CSV
    delimiter: str | None = None  # implied by the suffix (.tsv), else sniffed


def input_format(path: str | Path) -> InputFormat | None:
    """What a file (a local path or a URL) is, from its suffixes; None for one that is not an
    input."""
    suffixes = [s.lower() for s in name_of(path).suffixes[-2:]]
    compression = COMPRESSIONS.get(suffixes[-1]) if suffixes else None
    if compression is not None:
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if compression is None and last in (".parquet", ".pq"):
        return InputFormat("parquet")
    if last in (".csv", ".tsv"):
        return InputFormat("csv", compression, "\t" if last == ".tsv" else None)
    if compression is None and last in (".jsonl", ".ndjson"):
        return InputFormat("jsonl")
    if compression is None and last == ".json":
        return InputFormat("tokens")
    if compression is None and last == ".css":
        return InputFormat("css")
    return None


def first_line(path: str | Path, compression: str | None) -> bytes:
    """The file's first line (decompressed), at most 1 MiB."""
    try:
        with open_stream(path, compression) as stream:
            head = stream.read(HEADER_LIMIT)
    except (OSError, pa.ArrowInvalid) as exc:
        raise FontpipeError(f"{path}: unreadable file ({exc})") from None
    line: bytes = head
    end = line.find(b"\n")
    return line if end < 0 else line[: end + 1]


def sniff_delimiter(header: str) -> str:
    """The delimiter that splits the header into the most columns (a comma when none does)."""
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def csv_columns(path: str | Path, fmt: InputFormat, delimiter: str | None) -> tuple[list[str], str]:
    """Column names from the header line alone (so a bad row further down cannot hide it), and
    the delimiter: given, implied by the suffix, or sniffed from the header."""
    first = first_line(path, fmt.compression)
    if b"\r" in first.rstrip(b"\r\n"):
        raise FontpipeError(
            f"{path}: lines end with a carriage return alone (CR, old Mac style); "
            "save the file with LF or CRLF line endings"
        )
    try:
        header = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FontpipeError(f"{path}: the header line is not UTF-8") from None
    chosen = delimiter or fmt.delimiter or sniff_delimiter(header)
    names = [n.strip() for n in next(csv.reader(io.StringIO(header), delimiter=chosen), [])]
    if not names or not any(names):
        raise FontpipeError(f"{path}: no header line; the first line must name the columns")
    return names, chosen


def jsonl_columns(path: str | Path) -> list[str]:
    """The keys of the first JSON object; later lines are read against them."""
    line = first_line(path, None)
    try:
        first = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FontpipeError(f"{path}: line 1 is not a JSON object ({exc})") from None
    if not isinstance(first, dict) or not first:
        raise FontpipeError(f"{path}: line 1 is not a JSON object with the columns as keys")
    return [str(key) for key in first]


def read_design_tokens(path: str | Path) -> pa.Table:
    """Every colour token of a W3C Design Tokens file, by dotted path, aliases resolved.

    A token is an object with `$value`; its type is its own `$type` or the nearest group's. A
    value is a CSS colour string, or an object `{colorSpace, components, alpha}` (the format's
    newer form), which is written as the equivalent CSS function.
    """
    try:
        tree = json.loads(read_text(path))
    except (ValueError, UnicodeDecodeError) as exc:
        raise FontpipeError(f"{path}: not a JSON design tokens file ({exc})") from None
    if not isinstance(tree, dict):
        raise FontpipeError(f"{path}: a design tokens file is a JSON object of groups and tokens")
    tokens: dict[str, Any] = {}

    def walk(node: dict[str, Any], path_parts: list[str], inherited: str | None) -> None:
        kind = node.get("$type", inherited)
        if "$value" in node:
            if kind == "color":
                tokens[".".join(path_parts)] = node["$value"]
            return
        for key, child in node.items():
            if not key.startswith("$") and isinstance(child, dict):
                walk(child, [*path_parts, key], kind)

    walk(tree, [], None)
    values = [_token_css(name, value, tokens) for name, value in tokens.items()]
    return pa.table({"token": list(tokens), "color": values}, schema=_token_schema())


_ALIAS: Final = re.compile(r"^\{([^{}]+)\}$")


def _token_css(name: str, value: Any, tokens: dict[str, Any], depth: int = 0) -> str | None:
    if isinstance(value, str):
        alias = _ALIAS.match(value.strip())
        if alias is None:
            return value
        target = alias.group(1)
        if target not in tokens or depth > 20:
            return value  # left as written: the colour parser rejects it with a reason
        return _token_css(target, tokens[target], tokens, depth + 1)
    if isinstance(value, dict) and "colorSpace" in value and "components" in value:
        space = str(value["colorSpace"])
        parts = " ".join("none" if c == "none" else str(c) for c in value["components"])
        alpha = value.get("alpha", 1)
        suffix = "" if alpha == 1 else f" / {alpha}"
        if space in {"hsl", "hwb", "lab", "lch", "oklab", "oklch"}:
            return f"{space}({parts}{suffix})"
        return f"color({space} {parts}{suffix})"
    return None if value is None else json.dumps(value)


_COMMENT: Final = re.compile(r"/\*.*?\*/", re.S)
_PROPERTY: Final = re.compile(r"(--[A-Za-z0-9_-]+)\s*:\s*([^;{}]+?)\s*(?:;|}|$)", re.M)
_VAR: Final = re.compile(r"^var\(\s*(--[A-Za-z0-9_-]+)\s*(?:,\s*(.+))?\)$")


def read_css_custom_properties(path: str | Path) -> pa.Table:
    """The colour custom properties of a stylesheet (a Tailwind v4 theme, say): every `--color*`
    property, and any other whose value is a colour; `var()` references resolved."""

    try:
        text = _COMMENT.sub("", read_text(path))
    except UnicodeDecodeError:
        raise FontpipeError(f"{path}: the stylesheet is not UTF-8") from None
    properties = {name: value for name, value in _PROPERTY.findall(text)}

    def resolve(value: str, depth: int = 0) -> str:
        match = _VAR.match(value.strip())
        if match is None or depth > 20:
            return value
        if match.group(1) in properties:
            return resolve(properties[match.group(1)], depth + 1)
        return match.group(2) or value

    names, values = [], []
    for name, raw in properties.items():
        value = resolve(raw)
        if not name.startswith("--color"):
            try:
                parse_color(value)
            except ColorSyntaxError:
                continue  # spacing, fonts, radii: not part of the palette
        names.append(name)
        values.append(value)
    return pa.table({"token": names, "color": values}, schema=_token_schema())


def _token_schema() -> pa.Schema:
    return pa.schema([(name, pa.string()) for name in TOKEN_COLUMNS])
