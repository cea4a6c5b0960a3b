"""The file shapes palettes come in, told apart by suffix, and how each names its columns.

| suffix | read as |
|---|---|
| `.parquet`, `.pq` | Parquet |
| `.csv`, `.tsv` | CSV; the delimiter (`,` `;` tab `|`) sniffed from the header and the first rows, or given |
| `.csv.gz`, `.csv.bz2`, `.csv.zst` (and `.tsv.*`) | the same, decompressed as a stream |
| `.jsonl`, `.ndjson` | one JSON object per line; its keys are the columns |
| `.json` | W3C Design Tokens: every colour token (`fontpipe.palettes.tokens`) |
| `.css` | a stylesheet's colour custom properties (`fontpipe.palettes.stylesheets`) |

Design tokens and stylesheets are small and read whole into a table of `TOKEN_COLUMNS`; the
other shapes are read in parts with bounded memory (`fontpipe.scoring.read`).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import pyarrow as pa

from fontpipe.errors import FontpipeError
from fontpipe.palettes.detect import SAMPLE_ROWS
from fontpipe.palettes.named import TOKEN_COLUMNS
from fontpipe.palettes.stylesheets import read_css_custom_properties
from fontpipe.palettes.tokens import read_design_tokens
from fontpipe.storage import name_of, open_random_access, open_stream

__all__ = [
    "TOKEN_COLUMNS",
    "InputFormat",
    "csv_columns",
    "input_format",
    "jsonl_columns",
    "read_css_custom_properties",
    "read_design_tokens",
    "read_sample",
    "sniff_delimiter",
]

InputKind = Literal["parquet", "csv", "jsonl", "tokens", "css"]
COMPRESSIONS: Final = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd"}
DELIMITERS: Final = (",", ";", "\t", "|")
HEADER_LIMIT: Final = 1 << 20
SNIFF_LINES: Final = 20  # data lines that must agree with the header's width
# Leading bytes of files that are not text: named .csv, they would read as one garbled line.
_MAGIC: Final = (
    (b"\x1f\x8b", "gzip-compressed data", ".gz"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data", ".zst"),
    (b"BZh", "bzip2-compressed data", ".bz2"),
    (b"PK\x03\x04", "a zip archive", None),
    (b"\xfd7zXZ\x00", "xz-compressed data", None),
    (b"PAR1", "a Parquet file", None),
)


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


def _head(path: str | Path, compression: str | None) -> bytes:
    """The file's first MiB (decompressed), refused when its bytes say it is no text at all."""
    try:
        with open_stream(path, compression) as stream:
            head: bytes = stream.read(HEADER_LIMIT)
    except (OSError, pa.ArrowInvalid) as exc:
        raise FontpipeError(f"{path}: unreadable file ({exc})") from None
    name = name_of(path).name
    # Control bytes as well as the magic: a header may well begin with `PAR1` or `BZh`.
    binary = any(b < 9 or 13 < b < 32 for b in head[:64])
    for magic, what, suffix in _MAGIC:
        if binary and head.startswith(magic):
            text_name = name.lower().endswith((".csv", ".tsv"))
            rename = f"; name it {name}{suffix}" if suffix and text_name else ""
            raise FontpipeError(
                f"{path}: holds {what}, not text, though it is named {name}{rename}"
            )
    return head


def first_line(path: str | Path, compression: str | None) -> bytes:
    """The file's first line (decompressed), at most 1 MiB."""
    head = _head(path, compression)
    end = head.find(b"\n")
    return head if end < 0 else head[: end + 1]


def sniff_delimiter(header: str, lines: list[str] | tuple[str, ...] = ()) -> str:
    """The delimiter that splits the header into the most columns and every sampled data line
    into as many (a comma when none splits the header).

    The header alone can be fooled: `name,color,note;a;b;c` has more semicolons than commas, yet
    its rows (`x,#fff,hi`) are comma-separated. A delimiter whose rows disagree with its header
    loses to one whose rows agree."""

    def widths(delimiter: str) -> tuple[float, int]:
        header_width = len(next(csv.reader([header], delimiter=delimiter), []))
        if header_width < 2 or not lines:
            return 0.0, header_width
        rows = list(csv.reader(lines, delimiter=delimiter))
        agree = sum(len(row) == header_width for row in rows)
        return agree / len(rows), header_width

    scores = {d: widths(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: scores[d])
    return best if scores[best][1] > 1 else ","


def csv_columns(path: str | Path, fmt: InputFormat, delimiter: str | None) -> tuple[list[str], str]:
    """Column names from the header line (so a bad row further down cannot hide it), and the
    delimiter: given, implied by the suffix, or sniffed from the header and the first rows."""
    head = _head(path, fmt.compression)
    end = head.find(b"\n")
    first = head if end < 0 else head[: end + 1]
    if b"\r" in first.rstrip(b"\r\n"):
        raise FontpipeError(
            f"{path}: lines end with a carriage return alone (CR, old Mac style); "
            "save the file with LF or CRLF line endings"
        )
    try:
        header = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FontpipeError(f"{path}: the header line is not UTF-8") from None
    chosen = delimiter or fmt.delimiter or sniff_delimiter(header, _data_lines(head, end))
    names = [n.strip() for n in next(csv.reader(io.StringIO(header), delimiter=chosen), [])]
    if not names or not any(names):
        raise FontpipeError(f"{path}: no header line; the first line must name the columns")
    return names, chosen


def _data_lines(head: bytes, header_end: int) -> list[str]:
    """Up to SNIFF_LINES whole, non-empty lines after the header."""
    if header_end < 0:
        return []
    body = head[header_end + 1 :]
    if len(head) >= HEADER_LIMIT:
        body = body[: body.rfind(b"\n") + 1]  # the last line may be cut short
    lines = body.decode("utf-8", "replace").splitlines()
    return [line for line in lines if line.strip()][:SNIFF_LINES]


def jsonl_columns(path: str | Path) -> list[str]:
    """The keys of the first JSON object; later lines are read against them."""
    line = first_line(path, None)
    try:
        first = json.loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise FontpipeError(f"{path}: line 1 is not a JSON object ({exc})") from None
    if not isinstance(first, dict) or not first:
        raise FontpipeError(f"{path}: line 1 is not a JSON object with the columns as keys")
    return [str(key) for key in first]


def read_sample(path: str | Path, names: list[str], delimiter: str | None = None) -> pa.Table:
    """The file's first rows (up to SAMPLE_ROWS), for telling which column holds the colour
    (`fontpipe.palettes.detect`). Text formats give text columns, as they are scored."""
    fmt = input_format(path)
    if fmt is None:
        raise FontpipeError(f"{path}: not an input file")
    if fmt.kind == "parquet":
        import pyarrow.parquet as pq

        with open_random_access(path) as source:
            batches = pq.ParquetFile(source).iter_batches(batch_size=SAMPLE_ROWS, columns=names)
            first = next(batches, None)
        return pa.Table.from_batches([first]) if first is not None else pa.table({})
    if fmt.kind in ("tokens", "css"):
        read = read_design_tokens if fmt.kind == "tokens" else read_css_custom_properties
        return read(path).slice(0, SAMPLE_ROWS)
    lines = _head(path, fmt.compression).decode("utf-8", "replace").splitlines()
    rows: list[list[str]] = []
    if fmt.kind == "jsonl":
        for line in lines[:SAMPLE_ROWS]:
            record = _json_object(line)
            if record is not None:
                rows.append([_as_text(record.get(name)) for name in names])
    else:
        chosen = delimiter or fmt.delimiter or csv_columns(path, fmt, None)[1]
        reader = csv.reader(lines[1 : SAMPLE_ROWS + 1], delimiter=chosen)
        rows = [row for row in reader if len(row) == len(names)]
    return pa.table({n: pa.array([r[i] for r in rows], pa.string()) for i, n in enumerate(names)})


def _json_object(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return record if isinstance(record, dict) else None


def _as_text(value: Any) -> str:
    """A JSON value as `fontpipe.scoring.read` hands it to the colour parser."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)
