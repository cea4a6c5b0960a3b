"""The palette audit page (`score --report audit.html`): one self-contained HTML file of a score
job's rows, made from its view (`fontpipe.scoring.view`).

Each colour is a swatch in its own colour with the chosen text on it, both WCAG contrasts, the
AA, AAA and 3:1 (large text, non-text) verdicts, the APCA Lc when the rule uses APCA, and a flag
where the other text colour reaches a higher WCAG level. Summary counts sit at the top; rows sort
and filter by source, theme and verdict. The rows travel as one compact JSON array and are drawn
a page at a time as the reader scrolls, so 10,000 rows open as fast as 200. The page asks for
nothing: its Content-Security-Policy forbids every request, and nothing in it needs one.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Final

import pyarrow as pa

from fontpipe.atomic import write_text_atomic
from fontpipe.errors import FontpipeError
from fontpipe.scoring.answers import answers, wcag_level

# Rows listed on the page at most; the summary counts every row. A page is for reading: past
# this, filter the scored output itself.
MAX_LISTED_ROWS: Final = 200_000
# Rules whose answer weighs APCA's lightness contrast: their page shows the chosen text's Lc.
APCA_RULES: Final = ("apca", "readable")
VERDICTS: Final = ("below 3:1", "3:1 large text only", "AA", "AAA")


def check_report_target(report: Path, out: Path | None, inputs: list[Any]) -> None:
    """Refuse, before any work, an audit page path that cannot be written or would replace the
    output or an input."""
    if report.suffix.lower() not in (".html", ".htm"):
        raise FontpipeError(f"{report}: the audit page is an HTML file; name it .html")
    if report.is_dir():
        raise FontpipeError(f"{report}: is a directory; --report names the page's file")
    resolved = report.resolve()
    if out is not None and resolved == out.resolve():
        raise FontpipeError(f"{report}: the audit page would replace the output; choose another")
    for file in inputs:
        if isinstance(file, Path) and file.resolve() == resolved:
            raise FontpipeError(f"{report}: the audit page would replace an input; choose another")
    parent = next((p for p in (report.parent, *report.parent.parents) if p.exists()), None)
    if parent is None or not parent.is_dir():
        raise FontpipeError(f"{report}: cannot create the page's directory")


def _cut(value: float, places: int) -> float:
    """Cut, not rounded: a contrast of 4.4999 shows 4.49, never the 4.50 its verdict missed."""
    scale = 10.0**places
    return math.floor(value * scale + 1e-9) / scale


def audit_data(view: pa.Table, *, rule: str) -> dict[str, Any]:
    """What the page's script reads: indexed sources and themes, one short array per row, and
    the summary counts over every row."""
    sources: dict[str, int] = {}
    themes: dict[str, int] = {}
    rows: list[list[Any]] = []
    counts = {"rows": 0, "black": 0, "white": 0, "flagged": 0, "non_text": 0}
    levels = [0, 0, 0, 0]
    lc_index = 0
    show_lc = rule in APCA_RULES
    lc_black = view.column("apca_lc_black").to_pylist() if show_lc else []
    lc_white = view.column("apca_lc_white").to_pylist() if show_lc else []
    for answer in answers(view):
        chosen_level = wcag_level(answer.chosen)
        other = answer.contrast_white if answer.black else answer.contrast_black
        flagged = wcag_level(other) > chosen_level
        counts["rows"] += 1
        counts["black" if answer.black else "white"] += 1
        counts["flagged"] += flagged
        counts["non_text"] += chosen_level >= 1
        levels[chosen_level] += 1
        lc: float | None = None
        if show_lc:
            lc = abs(lc_black[lc_index] if answer.black else lc_white[lc_index])
            lc = round(lc, 1)
        lc_index += 1
        if len(rows) >= MAX_LISTED_ROWS:
            continue
        theme = answer.context or answer.theme or ""
        rows.append(
            [
                sources.setdefault(answer.source, len(sources)),
                answer.row,
                answer.token or answer.name or "",
                themes.setdefault(theme, len(themes)),
                answer.hex,
                1 if answer.black else 0,
                _cut(answer.contrast_black, 2),
                _cut(answer.contrast_white, 2),
                chosen_level,
                wcag_level(other),
                lc,
            ]
        )
    return {
        "sources": list(sources),
        "themes": list(themes),
        "rows": rows,
        "lc": show_lc,
        "counts": {**counts, "levels": levels},
        "listed": len(rows),
    }


def audit_page(view: pa.Table, *, model_version: str, rule: str) -> str:
    """The page's HTML."""
    # Imported here: jinja2 is needed only to write a page.
    from jinja2 import Environment, PackageLoader, select_autoescape

    environment = Environment(
        loader=PackageLoader("fontpipe", "templates"), autoescape=select_autoescape(["html"])
    )
    data = audit_data(view, rule=rule)
    # JSON inside <script>: "<" escaped, so no value can close the element.
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False).replace("<", "\\u003c")
    counts = data["counts"]
    levels = counts["levels"]
    summary = [
        ("colours", counts["rows"]),
        ("black text", counts["black"]),
        ("white text", counts["white"]),
        ("pass AAA (7:1)", levels[3]),
        ("pass AA (4.5:1)", levels[2] + levels[3]),
        ("pass large text (3:1)", levels[1] + levels[2] + levels[3]),
        ("pass UI components (3:1)", counts["non_text"]),
        ("below 3:1", levels[0]),
        ("other colour reads better", counts["flagged"]),
    ]
    return str(
        environment.get_template("audit.html").render(
            model_version=model_version,
            rule=rule,
            summary=summary,
            data=payload,
            listed=data["listed"],
            total=counts["rows"],
            sources=data["sources"],
            themes=data["themes"],
            verdicts=VERDICTS,
            show_lc=data["lc"],
        )
    )


def write_audit_page(report: Path, view: pa.Table, *, model_version: str, rule: str) -> None:
    """The page, written beside its target and renamed into place."""
    report.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(report, audit_page(view, model_version=model_version, rule=rule))
