"""JSON on stdout, for programs. Apart from the rich consoles, so that a command answering in
JSON (a quick `predict --json` above all) never loads rich."""

from __future__ import annotations

import json
import sys
from typing import Any


def emit_json(payload: Any) -> None:
    """One JSON document on stdout, for programs: no colour, no wrapping, one line."""
    sys.stdout.write(json.dumps(payload, default=str) + "\n")
    sys.stdout.flush()
