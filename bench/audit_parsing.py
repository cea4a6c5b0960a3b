"""The audit's parsing cases (issue 23): which column is the colour, numbers that are not
colours, stylesheet themes, design tokens, CSS's out-of-range values, the Python API's numbers,
and inputs that used to end in a traceback. Each runs a real process: the `fontpipe` command, or
a Python process importing the package for the API's cases.

`cases(audit)` is read by bench/audit.py.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from audit import last_line, verdict

Case = tuple[str, str, Callable[[], str]]
_SERIAL = itertools.count()


def _folder(audit: Any) -> Path:
    folder = audit.work / "parsing" / f"case-{next(_SERIAL)}"
    folder.mkdir(parents=True)
    return folder


def _score(audit: Any, data: str | bytes, name: str, *extra: object) -> tuple[str, Path]:
    """Score `data` (written to `name`) under quarantine: the verdict and the folder."""
    folder = _folder(audit)
    (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())
    code, output = audit.fontpipe(
        "score", folder / name, "--out", folder / "out.csv", "--model", audit.version, *extra
    )
    return verdict(code, output), folder


def _column(folder: Path, name: str, file: str = "out.csv") -> list[str]:
    path = folder / file
    if not path.exists():
        return []
    with path.open(newline="") as stream:
        return [row[name] for row in csv.DictReader(stream)]


def _scored(audit: Any, data: str | bytes, name: str = "in.csv", column: str = "srgb_hex") -> str:
    """The verdict's exit code, the scored rows' `column`, and the rejects' reasons."""
    got, folder = _score(audit, data, name, "--on-error", "quarantine")
    scored = _column(folder, column)
    reasons = _column(folder, "reason", "out.csv.rejects.csv")
    return f"{got.split(':')[0]}: {scored}" + (f"; rejects: {reasons}" if reasons else "")


def _api(audit: Any, body: str) -> str:
    """Run `body` in a fresh Python process with `model` loaded; its last line."""
    script = "import numpy as np, pyarrow as pa, fontpipe\n"
    script += f"model = fontpipe.load_model({str(audit.version)!r})\n"
    script += "try:\n" + textwrap.indent(textwrap.dedent(body), "    ")
    script += "\nexcept fontpipe.FontpipeError as exc:\n    print('FontpipeError:', exc)\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    return last_line(done.stdout + done.stderr)


def _column_cases(audit: Any) -> list[Case]:
    return [
        (
            "colour column: color beside color_family, subgroup",
            "rc 0: the color column scored (#000000, #ffffff)",
            lambda: _scored(audit, "color_family,subgroup,color\nred,a,#000\nblue,b,#fff\n"),
        ),
        (
            "colour column: two hinted columns of colours",
            "rc 2, one line listing bg and hex_code",
            lambda: _score(audit, "name,bg,hex_code\nx,#000,#fff\n", "in.csv")[0],
        ),
        (
            "channels r,g,b,R",
            "rc 2 naming r and R",
            lambda: _score(audit, "r,g,b,R\n1,2,3,200\n", "in.csv")[0],
        ),
    ]


THEME = """\
:root {
  --bg: #ffffff;
  --fg: VAR(--missing, var(--ink, #111111));
  --surface: light-dark(#fafafa, #0a0a0a);
  --mix: color-mix(in srgb, red, blue);
  --z: 100;
  --aspect-video: 16 9 1;
  --loop: var(--loop);
  --gone: var(--nope);
}
@media (prefers-color-scheme: dark) { :root { --bg: #000000; } }
.dark { --bg: #0a0a0a; }
[data-theme="ocean"] { --bg: oklch(50% 0.1 230); }
"""


def _number_and_theme_cases(audit: Any) -> list[Case]:
    tokens = {
        "$type": "color",
        "group": {"red": {"$value": "#ff0000"}},
        "group.red": {"$value": "#00ff00"},
        "z": {"$value": 123},
        "loop": {"$value": "{loop}"},
        "gone": {"$value": "{nowhere}"},
    }
    return [
        (
            "numbers in a colour column (123, 700, 16711680)",
            "rc 0: none scored; each rejected as a number",
            lambda: _scored(audit, "color\n123\n700\n16711680\n#fff\n"),
        ),
        (
            "stylesheet: contexts, light-dark, color-mix, numbers",
            "rc 0: --bg x4 contexts, --fg, --surface x2, --mix; --z/--aspect not rows; "
            "cycle and missing name rejected with their lines",
            lambda: _scored(audit, THEME, "theme.css", "context"),
        ),
        (
            "design tokens: group.red nested and literal, $value 123, alias loop, missing",
            "rc 0: both group.red rows; 123, loop and missing rejected with reasons",
            lambda: _scored(audit, json.dumps(tokens), "tokens.json", "context"),
        ),
        (
            "design tokens nested 3,000 deep",
            "rc 2, one line, no traceback",
            lambda: _score(audit, '{"g":' * 3000 + '{"$value": "#fff"}' + "}" * 3000, "t.json")[0],
        ),
    ]


def _css_value_cases(audit: Any) -> list[Case]:
    clamped = "rgb(0 0 1000.5)\nrgb(0% 0% 200%)\nhsl(0 100% 1e999%)\nlab(1e999 0 0)\n"
    return [
        (
            "out-of-range CSS values",
            "rc 0: #0000ff, #0000ff, #ffffff, #ffffff",
            lambda: _scored(audit, "color\n" + clamped),
        ),
        (
            "rgb(100, 200, 300), none components, / none alpha, negative chroma",
            "rc 0: #64c8ff, #000000, #777777; / none rejected as transparent",
            lambda: _scored(
                audit,
                'color\n"rgb(100, 200, 300)"\nrgb(none 0 0)\nlch(50% -10 20)\nrgb(0 0 0 / none)\n',
            ),
        ),
    ]


def _api_cases(audit: Any) -> list[Case]:
    return [
        (
            "API: a float array all in 0-1",
            "FontpipeError naming scale=255 or uint8",
            lambda: _api(audit, "model.predict(np.array([[1.0, 1.0, 1.0]]))"),
        ),
        (
            "API: a bool array",
            "FontpipeError: not colours",
            lambda: _api(audit, "model.predict(np.ones((2, 3), dtype=bool))"),
        ),
        (
            "API: the second row bad",
            "FontpipeError naming row 2",
            lambda: _api(audit, "model.predict(['#fff', '#ggg'])"),
        ),
        (
            "API: color beside color_family",
            "the color column scored: ['#000000']",
            lambda: _api(
                audit,
                "t = pa.table({'color_family': ['red'], 'color': ['#000']})\n"
                "print(fontpipe.score_table(t, model).column('srgb_hex').to_pylist())",
            ),
        ),
    ]


def _traceback_cases(audit: Any) -> list[Case]:
    def parquet_int64() -> str:
        import pyarrow as pa
        import pyarrow.parquet as pq

        folder = _folder(audit)
        table = pa.table(
            {c: pa.array([2**53 + 1 if c == "r" else 0, 5], pa.int64()) for c in "rgb"}
        )
        pq.write_table(table, folder / "big.parquet")
        code, output = audit.fontpipe(
            "score", folder / "big.parquet", "--out", folder / "out.csv", "--model",
            audit.version, "--on-error", "quarantine",
        )  # fmt: skip
        return (
            f"{verdict(code, output)}; rejects: {_column(folder, 'reason', 'out.csv.rejects.csv')}"
        )

    return [
        (
            "Parquet int64 channel above 2^53, quarantine",
            "rc 0: that row rejected (out of range), no traceback",
            parquet_int64,
        ),
        (
            "fooled delimiter sniff (name,color,note;a;b;c), quarantine",
            "rc 0: both rows scored with the comma",
            lambda: _scored(audit, "name,color,note;a;b;c\nx,#ffffff,hi\ny,#000000,yo\n"),
        ),
        (
            "gzip bytes in a .csv",
            "rc 2: says it holds gzip-compressed data",
            lambda: _score(audit, gzip.compress(b"color\r\n#fff\r\n"), "in.csv")[0],
        ),
    ]


def cases(audit: Any) -> list[Case]:
    return [
        *_column_cases(audit),
        *_number_and_theme_cases(audit),
        *_css_value_cases(audit),
        *_api_cases(audit),
        *_traceback_cases(audit),
    ]
