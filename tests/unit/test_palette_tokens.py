"""Design tokens (issue 23, item 5): paths kept apart, aliases followed or refused with the
reason, and a file nested thousands deep refused in one line."""

from __future__ import annotations

import json

import pytest

from fontpipe.errors import FontpipeError
from fontpipe.palettes.tokens import design_token_colours


def tokens(tmp_path, tree):
    source = tmp_path / "tokens.json"
    source.write_text(tree if isinstance(tree, str) else json.dumps(tree))
    found = design_token_colours(source)
    table = list(zip(found.tokens, found.contexts, found.colors, strict=True))
    return found, table


def test_a_nested_path_and_a_dotted_key_are_both_kept(tmp_path):
    tree = {
        "$type": "color",
        "group": {"red": {"$value": "#ff0000"}},
        "group.red": {"$value": "#00ff00"},
        "a/b~c": {"$value": "#0000ff"},
    }
    found, table = tokens(tmp_path, tree)
    assert table == [
        ("group.red", "/group/red", "#ff0000"),
        ("group.red", "/group.red", "#00ff00"),
        ("a/b~c", "/a~1b~0c", "#0000ff"),
    ]
    assert not found.rejects


def test_aliases_resolve_and_their_faults_are_rejected_with_the_reason(tmp_path):
    tree = {
        "$type": "color",
        "base": {"ink": {"$value": "#111111"}},
        "text": {"$value": "{base.ink}"},
        "untyped": {"$type": None, "$value": "{base.ink}"},
        "loop": {"a": {"$value": "{loop.b}"}, "b": {"$value": "{loop.a}"}},
        "missing": {"$value": "{base.paper}"},
        "group": {"red": {"$value": "#f00"}},
        "group.red": {"$value": "#0f0"},
        "ambiguous": {"$value": "{group.red}"},
    }
    found, table = tokens(tmp_path, tree)
    colours = {t: v for t, _, v in table}
    assert colours["text"] == "#111111"
    reasons = {table[i][0]: reason for i, reason in found.rejects.items()}
    assert reasons == {
        "loop.a": "alias loop: {loop.a} -> {loop.b} -> {loop.a}",
        "loop.b": "alias loop: {loop.b} -> {loop.a} -> {loop.b}",
        "missing": "alias {base.paper}: no token 'base.paper'",
        "ambiguous": "alias {group.red} is ambiguous: it names /group/red and /group.red",
    }


def test_an_untyped_alias_takes_its_targets_type(tmp_path):
    tree = {"c": {"$type": "color", "ink": {"$value": "#222"}}, "alias": {"$value": "{c.ink}"}}
    _, table = tokens(tmp_path, tree)
    assert table[-1] == ("alias", "/alias", "#222")


def test_colour_objects_become_css_or_a_reason(tmp_path):
    tree = {
        "$type": "color",
        "ok": {"$value": {"colorSpace": "oklch", "components": [0.5, 0.1, 30], "alpha": 0.5}},
        "space": {"$value": {"colorSpace": "cmyk", "components": [0, 0, 0]}},
        "parts": {"$value": {"colorSpace": "srgb", "components": ["x", 0, 0]}},
        "flag": {"$value": True},
    }
    found, table = tokens(tmp_path, tree)
    assert table[0][2] == "oklch(0.5 0.1 30 / 0.5)"
    assert found.rejects == {
        1: "invalid colour object: unknown colorSpace 'cmyk'",
        2: "invalid colour object (expected three numeric components and alpha)",
        3: "true is not a colour",
    }


@pytest.mark.parametrize("depth", [300, 3_000])
def test_tokens_nested_thousands_deep_give_a_one_line_error(tmp_path, depth):
    text = '{"g":' * depth + '{"$type": "color", "$value": "#fff"}' + "}" * depth
    with pytest.raises(FontpipeError, match=r"nested .*more than 200 levels") as error:
        tokens(tmp_path, text)
    assert "\n" not in str(error.value)
