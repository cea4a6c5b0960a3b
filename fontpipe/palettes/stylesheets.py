"""A stylesheet's colour custom properties, as a browser would compute them.

Every declaration of a custom property is a row (`fontpipe.palettes.named`), with its `context`:
the at-rules and selector it sits in (`:root`, `@media (prefers-color-scheme: dark) :root`,
`.dark`, `[data-theme=dark]`, `@theme`), so a theme's light and dark values are both scored.

- `var()` (any case, as CSS reads it) is substituted: from the same context, else from the
  document-wide ones (`:root`, `html`, `:host`, `@theme`, no selector), with nested fallbacks.
  A cycle or a missing name with no fallback is refused, naming the cycle or the name.
- `light-dark(a, b)` gives two rows, `... (light)` and `... (dark)`.
- `color-mix()` is computed (`fontpipe.palettes.mixing`) or refused with its reason.
- A value that is a colour is a row; one that is written like a colour but is not (`#12345`,
  `rgb(1, 2)`, a transparent colour) is refused with the reason and its line; anything else
  (spacing, fonts, `100`, `16 9 1`) is not a colour and is counted as skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pyarrow as pa

from fontpipe.color.css import FUNCTIONS, ColorSyntaxError, parse_color
from fontpipe.errors import FontpipeError
from fontpipe.palettes.mixing import Unresolved, closing_paren, evaluate_mixes, split_top_level
from fontpipe.palettes.named import NamedColours
from fontpipe.storage import read_text

MAX_VAR_DEPTH: Final = 64  # var() references followed in a chain before giving up
MAX_VALUE_CHARS: Final = 10_000  # a value grown past this by var() substitution is refused
MAX_SUBSTITUTIONS: Final = 10_000  # var() references followed for one declaration, at most
_VAR: Final = re.compile(r"(?<![\w-])var\(", re.IGNORECASE)
_LIGHT_DARK: Final = re.compile(r"(?<![\w-])light-dark\(", re.IGNORECASE)
_IMPORTANT: Final = re.compile(r"\s*!\s*important\s*$", re.IGNORECASE)
_COLOUR_LIKE: Final = re.compile(
    r"^\s*(#|(" + "|".join([*FUNCTIONS, "color-mix", "light-dark"]) + r")\()", re.IGNORECASE
)
_CONDITIONAL: Final = ("@media", "@supports", "@container", "@scope", "@document")
_DOCUMENT_WIDE: Final = {":root", "html", ":host", "*"}


@dataclass(frozen=True)
class Declaration:
    name: str  # `--color-red-500`; custom property names are case-sensitive
    value: str  # as written, without `!important`
    context: str  # at-rules and selectors, outermost first
    line: int  # 1-based, where the name starts
    document_wide: bool  # applies to the whole document: its values serve var() anywhere


def read_css_custom_properties(path: str | Path) -> pa.Table:
    """The colour custom properties of a stylesheet as a table (`fontpipe.palettes.named`)."""
    return stylesheet_colours(path).table()


def stylesheet_colours(path: str | Path) -> NamedColours:
    try:
        text = read_text(path)
    except UnicodeDecodeError:
        raise FontpipeError(f"{path}: the stylesheet is not UTF-8") from None
    declarations = custom_properties(text)
    resolver = _Resolver(declarations)
    found = NamedColours()
    for declaration in declarations:
        _add_declaration(found, declaration, resolver)
    return found


def _add_declaration(found: NamedColours, declaration: Declaration, resolver: _Resolver) -> None:
    where = f"line {declaration.line}"
    try:
        resolved = resolver.value_of(declaration)
        schemes = _schemes(resolved)
    except Unresolved as why:
        found.add(declaration.name, declaration.context, declaration.value, f"{why} ({where})")
        return
    for scheme, text in schemes:
        context = f"{declaration.context} ({scheme})".strip() if scheme else declaration.context
        try:
            computed = evaluate_mixes(text)
        except Unresolved as why:
            found.add(declaration.name, context, text, f"{why} ({where})")
            continue
        try:
            parse_color(computed)
        except ColorSyntaxError as exc:
            if _COLOUR_LIKE.match(text) or str(exc).startswith("fully transparent"):
                found.add(declaration.name, context, computed, f"{exc} ({where})")
            else:
                found.skipped += 1  # spacing, fonts, numbers: not part of the palette
            continue
        found.add(declaration.name, context, computed)


def custom_properties(text: str) -> list[Declaration]:
    """Every custom property declaration of a stylesheet, in order, with its context and line.

    A small scanner rather than a CSS library: it needs only blocks, strings, comments and
    parentheses, and it keeps the line of each declaration."""
    found: list[Declaration] = []
    stack: list[str] = []
    statement: list[str] = []
    start_line = line = 1
    depth = i = 0
    while i < len(text):
        char = text[i]
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = len(text) if end < 0 else end + 2
            line += text.count("\n", i, end)
            statement.append(" ")
            i = end
            continue
        if char in "\"'":
            end = _string_end(text, i)
            line += text.count("\n", i, end)
            statement.append(text[i:end])
            i = end
            continue
        i += 1
        if char == "\n":
            line += 1
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif depth == 0 and char == "{":
            stack.append(" ".join("".join(statement).split()))
            statement = []
            continue
        elif depth == 0 and char in ";}":
            _declaration("".join(statement), stack, start_line, found)
            statement = []
            if char == "}" and stack:
                stack.pop()
            continue
        if not statement and char.isspace():
            continue
        if not "".join(statement).strip():
            start_line = line
        statement.append(char)
    _declaration("".join(statement), stack, start_line, found)
    return found


def _string_end(text: str, start: int) -> int:
    quote, i = text[start], start + 1
    while i < len(text) and text[i] not in (quote, "\n"):
        i += 2 if text[i] == "\\" else 1
    return min(i + 1, len(text))


def _declaration(statement: str, stack: list[str], line: int, found: list[Declaration]) -> None:
    text = statement.strip()
    if not text.startswith("--") or ":" not in text:
        return
    name, value = text.split(":", 1)
    value = _IMPORTANT.sub("", value.strip())
    context = " ".join(stack)
    found.append(Declaration(name.strip(), value, context, line, _document_wide(stack)))


def _document_wide(stack: list[str]) -> bool:
    for prelude in stack:
        if prelude.lower().startswith(_CONDITIONAL):
            return False
        if prelude.startswith("@"):
            continue  # @theme, @layer: no condition on where the values apply
        selectors = {s.strip() for s in prelude.split(",")}
        if not selectors & _DOCUMENT_WIDE:
            return False
    return True


class _Resolver:
    """var() substitution over one stylesheet's declarations."""

    def __init__(self, declarations: list[Declaration]) -> None:
        self.local: dict[tuple[str, str], Declaration] = {}
        self.document: dict[str, Declaration] = {}
        self.anywhere: dict[str, list[str]] = {}
        for declaration in declarations:  # the last declaration wins, as in the cascade
            self.local[(declaration.context, declaration.name)] = declaration
            if declaration.document_wide:
                self.document[declaration.name] = declaration
            self.anywhere.setdefault(declaration.name, []).append(declaration.context)
        # Each declaration's substituted value, once found: a hostile sheet that references every
        # property twice from the next would otherwise take 2**depth steps.
        self.resolved: dict[Declaration, str] = {}
        self.budget = MAX_SUBSTITUTIONS

    def value_of(self, declaration: Declaration) -> str:
        self.budget = MAX_SUBSTITUTIONS
        return self._substitute(declaration.value, declaration.context, [declaration])

    def _lookup(self, name: str, context: str) -> Declaration | None:
        return self.local.get((context, name)) or self.document.get(name)

    def _substitute(self, value: str, context: str, chain: list[Declaration]) -> str:
        if len(chain) > MAX_VAR_DEPTH:
            raise Unresolved(f"var() references nested more than {MAX_VAR_DEPTH} deep")
        out: list[str] = []
        position = 0
        while match := _VAR.search(value, position):
            end = closing_paren(value, match.end() - 1)
            name, *fallback = split_top_level(value[match.end() : end], ",", limit=1)
            out += [
                value[position : match.start()],
                self._reference(name, fallback, context, chain),
            ]
            position = end + 1
        out.append(value[position:])
        result = "".join(out)
        if len(result) > MAX_VALUE_CHARS:
            raise Unresolved(f"value longer than {MAX_VALUE_CHARS:,} characters after var()")
        return result

    def _reference(
        self, name: str, fallback: list[str], context: str, chain: list[Declaration]
    ) -> str:
        name = name.strip()
        target = self._lookup(name, context)
        if target in chain:
            assert target is not None
            loop = [d.name for d in chain[chain.index(target) :]] + [target.name]
            raise Unresolved(f"var() cycle: {' -> '.join(loop)}")
        self.budget -= 1
        if self.budget < 0:
            raise Unresolved(f"more than {MAX_SUBSTITUTIONS:,} var() substitutions")
        if target is not None and target in self.resolved:
            return self.resolved[target]
        if target is not None:
            try:
                value = self._substitute(target.value, target.context, [*chain, target])
            except Unresolved as why:
                if not fallback or "cycle" in str(why) or "substitutions" in str(why):
                    raise
            else:
                self.resolved[target] = value
                return value
        if fallback:
            return self._substitute(fallback[0].strip(), context, chain)
        elsewhere = [c or "(top level)" for c in self.anywhere.get(name, [])]
        if elsewhere:
            raise Unresolved(f"var({name}): {name} is defined only under {', '.join(elsewhere)}")
        raise Unresolved(f"var({name}): {name} is not defined")


def _schemes(value: str) -> list[tuple[str, str]]:
    """light-dark(a, b) anywhere in the value: its light and its dark reading; else the value."""
    if not _LIGHT_DARK.search(value):
        return [("", value)]
    return [("light", _pick_scheme(value, 0)), ("dark", _pick_scheme(value, 1))]


def _pick_scheme(value: str, side: int) -> str:
    match = _LIGHT_DARK.search(value)
    if match is None:
        return value
    end = closing_paren(value, match.end() - 1)
    arguments = split_top_level(value[match.end() : end], ",")
    if len(arguments) != 2:
        raise Unresolved(f"light-dark() takes two colours, not {len(arguments)}")
    chosen = _pick_scheme(arguments[side].strip(), side)
    return value[: match.start()] + chosen + _pick_scheme(value[end + 1 :], side)
