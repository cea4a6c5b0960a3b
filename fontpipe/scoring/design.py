"""Answers in a front end's own formats: a stylesheet and W3C design tokens of the chosen text
colours, made from a score job's view (`fontpipe.scoring.view`).

- Stylesheet (`--out theme.css`): for each row a custom property `--on-<name>`, the text colour
  to set on that background, with the scored colour and both WCAG contrasts in a comment. Rows
  keep their context: a stylesheet's selector and at-rules are written around them again
  (`@media (prefers-color-scheme: dark) { :root { ... } }`); the two sides of a `light-dark()`
  become one `light-dark()` again; a `theme` column becomes `[data-theme="..."]`; anything else
  (a design token, a palette without contexts) sits in `:root`.
- Design tokens (`--out tokens.json`): one colour token per row under the group `on`, at the
  source token's own path (a token input) or under a group per context or theme, with the source
  token aliased (`{brand.500}`) in the token's `$extensions`.

Names are the row's `token` (a property loses its `--`, a dotted path's dots become `-`), else
its `name`, else the colour's hex digits; a name that is no CSS identifier is escaped as
`CSS.escape` escapes it, and a name met twice in one block or group gets `-2`, `-3`, ... in row
order, so the same input always gives the same names.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import pyarrow as pa

from fontpipe.atomic import write_text_atomic
from fontpipe.errors import FontpipeError
from fontpipe.schema import WCAG_AA_RATIO, WCAG_AAA_RATIO, WCAG_LARGE_RATIO
from fontpipe.scoring.answers import Answer, answers, ratio_text, wcag_level

ValueStyle = Literal["hex", "keyword"]
VALUE_STYLES: Final[tuple[ValueStyle, ...]] = ("hex", "keyword")
EXTENSION: Final = "org.fontpipe"  # the $extensions key of what fontpipe adds to a token
DEFAULT_SELECTOR: Final = ":root"
_SCHEME: Final = re.compile(r"^(.*?)\s*\((light|dark)\)$", re.DOTALL)
# At-rules whose prelude is conditions: words, (parenthesised) features, functions, commas.
_CONDITION_WORDS: Final = {"and", "or", "not", "only", "screen", "print", "all", "to", ","}
_CONDITIONAL: Final = ("@media", "@supports", "@container", "@document", "@scope", "@layer")
_IDENT: Final = re.compile(r"^-?[A-Za-z_][\w-]*,?$")


def css_escape(text: str) -> str:
    """`text` as the rest of a CSS identifier, escaped as CSSOM's `CSS.escape` escapes it (the
    text follows `--on-`, so a leading digit or hyphen needs no escape)."""
    out = []
    for char in text:
        code = ord(char)
        if code == 0:
            out.append("\ufffd")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\{code:x} ")
        elif code >= 0x80 or char in "-_" or (char.isascii() and char.isalnum()):
            out.append(char)
        else:
            out.append("\\" + char)
    return "".join(out)


# The rest of an identifier as a stylesheet writes it: name characters and escapes.
_IDENT_SOURCE: Final = re.compile(
    r"^(?:[A-Za-z0-9_-]|[^\x00-\x7F]|\\[^\n\r\f0-9a-fA-F]|\\[0-9a-fA-F]{1,6} ?)+$"
)


def _ident_text(answer: Answer, base: str) -> str:
    """A property's name from a stylesheet (`--brand\\ 500`) is CSS already, escapes and all;
    any other name is escaped."""
    from_stylesheet = bool(answer.token) and answer.token == "--" + base
    if from_stylesheet and _IDENT_SOURCE.match(base):
        return base
    return css_escape(base)


def _css_string(text: str) -> str:
    """`text` as a CSS string: quotes and backslashes escaped, control characters as hex."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\{ord(char):x} ")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _comment(text: str) -> str:
    return text.replace("*/", "* /")


class _Names:
    """Names made unique in row order: the second `x` is `x-2`, and so on."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def unique(self, name: str) -> str:
        candidate, n = name, 2
        while candidate in self.taken:
            candidate, n = f"{name}-{n}", n + 1
        self.taken.add(candidate)
        return candidate


def context_problem(context: str) -> str | None:
    """Why a context cannot be written back as CSS selectors and at-rules, or None."""
    if any(mark in context for mark in ("{", "}", ";", "/*", "*/", "<!--", "-->")):
        return "it holds a brace, a semicolon or a comment"
    if any(ord(c) < 0x20 and c not in "\t\n\r" for c in context):
        return "it holds a control character"
    depth, quote = 0, ""
    for char in context:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
            if depth < 0:
                return "its brackets do not match"
    if quote or depth:
        return "its brackets or quotes do not match"
    return None


def _words(text: str) -> list[str]:
    """Whitespace-separated words, a bracketed or quoted stretch counting as part of one."""
    words: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char.isspace() and depth == 0:
            if current:
                words.append("".join(current))
                current = []
            continue
        current.append(char)
    if current:
        words.append("".join(current))
    return words


def context_blocks(context: str) -> list[str]:
    """A stylesheet context (the reader's at-rules and selectors, joined by spaces) split back
    into the preludes of its nested blocks, outermost first:
    `@media (prefers-color-scheme: dark) :root` -> [`@media (prefers-color-scheme: dark)`,
    `:root`]. Words that are no at-rule's conditions form one selector. A context of at-rules
    alone gets `:root` inside (custom properties need a rule), except `@theme`, which holds them
    itself."""
    words = _words(context)
    blocks: list[str] = []
    selector: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if not word.startswith("@"):
            selector.append(word)
            i += 1
            continue
        if selector:
            blocks.append(" ".join(selector))
            selector = []
        prelude = [word]
        i += 1
        while i < len(words) and _in_prelude(prelude, words[i], words[i + 1 : i + 2]):
            prelude.append(words[i])
            i += 1
        blocks.append(" ".join(prelude))
    if selector:
        blocks.append(" ".join(selector))
    if not blocks:
        return [DEFAULT_SELECTOR]
    if all(b.startswith("@") for b in blocks) and blocks[-1].lower().startswith(_CONDITIONAL):
        blocks.append(DEFAULT_SELECTOR)
    return blocks


def _in_prelude(prelude: list[str], word: str, following: list[str]) -> bool:
    rule = prelude[0].lower()
    if word.startswith("(") or re.match(r"^[A-Za-z-]+\(", word):
        return True  # a feature, a condition, a function such as selector()
    if rule in ("@media", "@supports", "@container", "@document", "@scope"):
        if word.lower().rstrip(",") in _CONDITION_WORDS or word == ",":
            return True
        # A container's name, right after @container and before its condition.
        return (
            rule == "@container"
            and len(prelude) == 1
            and bool(_IDENT.match(word))
            and bool(following)
            and following[0].startswith("(")
        )
    if rule == "@layer":
        # Layer names: one, or a comma-separated list.
        return bool(_IDENT.match(word) or re.match(r"^[\w.-]+,?$", word)) and (
            len(prelude) == 1 or prelude[-1].endswith(",")
        )
    return False


@dataclass
class _Entry:
    """One declaration: a row, or the two sides of a light-dark() pair."""

    property: str
    base: str
    plain: Answer | None = None
    light: Answer | None = None
    dark: Answer | None = None


@dataclass
class _Block:
    blocks: list[str]
    entries: list[_Entry] = field(default_factory=list)
    names: _Names = field(default_factory=_Names)


def _css_context(answer: Answer) -> tuple[str, str | None]:
    """The row's CSS context without a light/dark side, and that side."""
    context = (answer.context or "").strip()
    if context.startswith("/"):  # a design token's JSON Pointer: no CSS context
        context = ""
    scheme = None
    match = _SCHEME.match(context)
    if match:
        context, scheme = match.group(1).strip(), match.group(2)
    if not context and answer.theme:
        # A theme's name, quoted: any text is safe inside a CSS string.
        return f"[data-theme={_css_string(answer.theme)}]", scheme
    if context:
        problem = context_problem(context)
        if problem is not None:
            raise FontpipeError(
                f"{answer.source}: row {answer.row}: context {context!r} cannot be written as "
                f"CSS selectors and at-rules ({problem}); nothing was written"
            )
    return context or DEFAULT_SELECTOR, scheme


def stylesheet(view: pa.Table, *, value_style: ValueStyle, model_version: str, rule: str) -> str:
    """The stylesheet of a job's view: one custom property per row (a light-dark() pair per
    two sides), in blocks by context, in the order contexts first appear."""
    blocks: dict[str, _Block] = {}
    for answer in answers(view):
        context, scheme = _css_context(answer)
        block = blocks.get(context)
        if block is None:
            block = blocks[context] = _Block(context_blocks(context))
        base = answer.base_name
        if scheme is not None:
            waiting = next(
                (
                    e
                    for e in block.entries
                    if e.base == base and e.plain is None and getattr(e, scheme) is None
                ),
                None,
            )
            if waiting is not None:
                setattr(waiting, scheme, answer)
                continue
        entry = _Entry("--on-" + block.names.unique(_ident_text(answer, base)), base)
        setattr(entry, scheme or "plain", answer)
        block.entries.append(entry)
    lines = [
        "/* "
        + _comment(
            f"Text colours chosen by fontpipe model {model_version} (rule {rule}): "
            "--on-<name> is the text colour to set on the background <name>; each comment "
            "gives that background as scored and the WCAG 2 contrast of black and of white "
            "text on it."
        )
        + " */"
    ]
    for block in blocks.values():
        lines.append("")
        depth = len(block.blocks)
        for level, prelude in enumerate(block.blocks):
            lines.append("  " * level + prelude + " {")
        for entry in block.entries:
            lines.append("  " * depth + _declaration(entry, value_style))
        for level in reversed(range(depth)):
            lines.append("  " * level + "}")
    return "\n".join(lines) + "\n"


def _declaration(entry: _Entry, value_style: ValueStyle) -> str:
    def value(answer: Answer) -> str:
        if value_style == "keyword":
            return "black" if answer.black else "white"
        return "#000" if answer.black else "#fff"

    def about(answer: Answer) -> str:
        return (
            f"on {answer.hex}: black {ratio_text(answer.contrast_black)}, "
            f"white {ratio_text(answer.contrast_white)}"
        )

    if entry.plain is not None:
        return f"{entry.property}: {value(entry.plain)}; /* {about(entry.plain)} */"
    if entry.light is not None and entry.dark is not None:
        return (
            f"{entry.property}: light-dark({value(entry.light)}, {value(entry.dark)}); "
            f"/* light: {about(entry.light)}; dark: {about(entry.dark)} */"
        )
    side, answer = ("light", entry.light) if entry.light is not None else ("dark", entry.dark)
    assert answer is not None
    return f"{entry.property}: {value(answer)}; /* {side} only: {about(answer)} */"


def _token_segment(text: str) -> str:
    """A token or group name the format allows: no `.`, `{` or `}`, no leading `$`."""
    cleaned = re.sub(r"[.{}]", "-", text)
    if cleaned.startswith("$"):
        cleaned = "_" + cleaned
    return cleaned or "_"


def _pointer_segments(pointer: str) -> list[str]:
    return [s.replace("~1", "/").replace("~0", "~") for s in pointer.split("/")[1:]]


def _token_path(answer: Answer) -> list[str]:
    """Where the row's text colour sits under `on`: a design token at its own path; any other
    row under a group per context or theme (none for `:root`), by its name."""
    context = (answer.context or "").strip()
    if context.startswith("/") and answer.token:
        return [_token_segment(s) for s in _pointer_segments(context)] or ["_"]
    group = context or (answer.theme or "")
    path = [] if group in ("", DEFAULT_SELECTOR) else [_token_segment(group)]
    return [*path, _token_segment(answer.base_name)]


def design_tokens(view: pa.Table, *, model_version: str, rule: str) -> dict[str, Any]:
    """The W3C design tokens of a job's view: a colour token per row under `on`."""
    root: dict[str, Any] = {}
    names: dict[int, _Names] = {}
    for answer in answers(view):
        path = _token_path(answer)
        group = root
        for segment in path[:-1]:
            key, n = segment, 2
            while key in group and "$value" in group[key]:  # a token, not a group, holds it
                key, n = f"{segment}-{n}", n + 1
            group = group.setdefault(key, {})
        taken = names.setdefault(id(group), _Names())
        taken.taken.update(group)
        group[taken.unique(path[-1])] = _token(answer)
    return {
        "$description": (
            f"Text colours chosen by fontpipe model {model_version} (rule {rule}): each token "
            "is the text colour for the background it is named after."
        ),
        "on": root,
    }


def _token(answer: Answer) -> dict[str, Any]:
    other = answer.contrast_white if answer.black else answer.contrast_black
    about: dict[str, Any] = {
        "background": f"{{{answer.token}}}" if _is_token(answer) else answer.hex,
        "background_hex": answer.hex,
        "source": answer.source,
        "row": answer.row,
        "contrast_black": round(answer.contrast_black, 4),
        "contrast_white": round(answer.contrast_white, 4),
        "wcag_aa": answer.chosen >= WCAG_AA_RATIO,
        "wcag_aaa": answer.chosen >= WCAG_AAA_RATIO,
        "wcag_aa_large": answer.chosen >= WCAG_LARGE_RATIO,
        "other_reads_better": wcag_level(other) > wcag_level(answer.chosen),
    }
    context = answer.context or answer.theme
    if context:
        about["context"] = context
    return {
        "$type": "color",
        "$value": "#000000" if answer.black else "#ffffff",
        "$description": (
            f"{'black' if answer.black else 'white'} text on {answer.hex}: "
            f"{ratio_text(answer.chosen)} (the other: {ratio_text(other)})"
        ),
        "$extensions": {EXTENSION: about},
    }


def _is_token(answer: Answer) -> bool:
    """The row came from a design tokens file: its token is a dotted path to alias."""
    return bool(answer.token) and (answer.context or "").startswith("/")


def design_tokens_text(view: pa.Table, *, model_version: str, rule: str) -> str:
    document = design_tokens(view, model_version=model_version, rule=rule)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_design_output(
    out: Path,
    out_format: str,
    view: pa.Table,
    value_style: ValueStyle,
    model_version: str,
    rule: str,
) -> None:
    """The stylesheet (`css`) or design tokens (`tokens`) of a job's view, written beside `out`
    and renamed into place: all of it or nothing."""
    if out_format == "css":
        text = stylesheet(view, value_style=value_style, model_version=model_version, rule=rule)
    else:
        text = design_tokens_text(view, model_version=model_version, rule=rule)
    write_text_atomic(out, text)
