"""User text in the HTML report is shown as written and never runs: a human-label dataset and a
model version whose names hold `</script><!--<script>` and `"><img onerror=...>` give a page
whose DOM has no injected element, whose own script runs, and whose names read as written."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from fontpipe.color.rules import get_rule
from fontpipe.evaluation.evaluate_version import evaluate_version
from fontpipe.evaluation.report import script_json, write_report
from fontpipe.export import DECIDE_JS
from fontpipe.registry.promotion import ChampionComparison
from tests.chromium import HEADLESS
from tests.human_model import human_label_version

# Each breaks out of a different context: the inline script (closing it, or keeping it open with
# `<!--<script>`), an attribute, the text; U+2028 ends a line in older JavaScript.
HOSTILE = '</script><!--<script>"><img src=x onerror=document.body.dataset.pwned=1>'
VERSION = "v" + HOSTILE + "\u2028'&amp;"


@pytest.mark.parametrize(
    "value", [HOSTILE, VERSION, {"rule": "human:" + HOSTILE, "n": [1.5, -2]}, "a\u2029b & c"]
)
def test_script_json_has_no_markup_characters_and_keeps_its_value(value):
    text = script_json(value)
    assert not set(text) & set("<>&\u2028\u2029")
    assert json.loads(text) == value


def test_the_decision_code_cannot_end_or_hide_the_script():
    lowered = DECIDE_JS.lower()
    assert "</" not in lowered and "<!--" not in lowered and "<script" not in lowered


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    """A human-label model trained on a dataset at a hostile path, its version renamed to a
    hostile name, evaluated into a report with a champion section naming it."""
    root = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(4)
    rgb = rng.integers(0, 256, (600, 3), dtype=np.uint8)
    black = get_rule("wcag").label(rgb).astype(bool)
    # A file name cannot hold "/", so the dataset path spells `</script>` across two folders.
    dataset = root / "a<" / HOSTILE.removeprefix("</")
    version = human_label_version(root, rgb, black, dataset)
    metadata = json.loads((version.path / "metadata.json").read_text())
    metadata["version"] = VERSION  # what a hand-edited or foreign version directory can say
    (version.path / "metadata.json").write_text(json.dumps(metadata))
    assessment = evaluate_version(version.path, dataset_path=dataset, recipe=None)
    comparison = ChampionComparison(
        rule=assessment.metrics.family or assessment.metrics.rule,
        challenger=VERSION,
        champion="champ" + HOSTILE,
        challenger_metrics=assessment.metrics.headline,
        champion_metrics=assessment.metrics.headline,
        promote=False,
        reason="equal to " + HOSTILE,
        acted=True,
    )
    target = root / "report" / "report.html"
    write_report(assessment, target, comparison)
    return target, dataset, assessment


def test_names_reach_the_report_escaped(hostile_report):
    target, dataset, assessment = hostile_report
    html = target.read_text(encoding="utf-8")
    assert assessment.metrics.family == "human:" + dataset.name
    assert html.count("<script>") == 1 and html.count("</script>") == 1  # the page's own only
    assert "<img src=x" not in html and "<!--<script>" not in html


@contextlib.contextmanager
def devtools_page(url: str, profile: Path) -> Iterator[Callable[..., dict]]:
    """A headless Chromium page at `url`, and `call(method, **params)` over DevTools."""
    import socket

    from websockets.sync.client import connect

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no Chromium installed (.ci/run installs it)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [browser, *HEADLESS, f"--user-data-dir={profile}", f"--remote-debugging-port={port}", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        page, deadline = None, time.monotonic() + 60
        while page is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as r:
                    page = next((t for t in json.loads(r.read()) if t["type"] == "page"), None)
            except OSError:
                time.sleep(0.2)
        assert page is not None, "Chromium's DevTools endpoint never came up"
        with connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=30) as ws:
            ids = iter(range(1, 10_000))

            def call(method: str, **params: object) -> dict:
                message_id = next(ids)
                ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
                while True:
                    reply = json.loads(ws.recv(timeout=30))
                    if reply.get("id") == message_id:
                        return reply.get("result", {})

            yield call
    finally:
        process.kill()
        process.wait()


# What the test reads from the page once its script has drawn an answer.
PROBE = """JSON.stringify({
  answer: document.getElementById('try-answer').dataset.textColor || null,
  pwned: document.body.dataset.pwned || null,
  scripts: document.scripts.length,
  foreignImages: [...document.images].filter(i => !i.src.startsWith('data:image/png')).length,
  handlers: document.querySelectorAll('[onerror]').length,
  sections: [...document.querySelectorAll('section')].map(s => s.id),
  title: document.title,
  model: typeof FONTPIPE_MODEL === 'undefined' ? null
    : [FONTPIPE_MODEL.model_version, FONTPIPE_MODEL.rule],
  champion: document.querySelector('#champion thead').textContent,
  cells: [...document.querySelectorAll('#metadata td, #human td')].map(td => td.textContent),
})"""


@pytest.mark.browser
def test_hostile_names_inject_nothing_in_chromium_and_the_page_still_works(
    hostile_report, tmp_path
):
    target, dataset, _assessment = hostile_report
    with devtools_page(target.as_uri(), tmp_path / "profile") as call:

        def evaluate(expression: str) -> object:
            result = call("Runtime.evaluate", expression=expression, returnByValue=True)
            return result["result"].get("value")

        for _ in range(100):
            if evaluate("document.getElementById('try-answer')?.dataset.textColor"):
                break
            time.sleep(0.1)
        time.sleep(0.5)  # time for a broken image's onerror to fire, had one been injected
        page = json.loads(str(evaluate(PROBE)))
        # The page's own colour picker answers what it is typed: its script runs.
        evaluate("var t = document.getElementById('try-text'); t.focus(); t.select(); 1")
        call("Input.insertText", text="#000000")
        typed = evaluate("document.getElementById('try-answer').dataset.srgbHex")
    assert page["answer"] in ("black", "white") and typed == "#000000"
    assert page["pwned"] is None and page["handlers"] == 0 and page["foreignImages"] == 0
    assert page["scripts"] == 1
    assert {"model-card", "human", "try", "champion", "metadata"} <= set(page["sections"])
    assert page["title"] == f"fontpipe evaluation: {VERSION}"
    assert page["model"] == [VERSION, "human:" + dataset.name]
    assert VERSION in page["champion"] and "champ" + HOSTILE in page["champion"]
    assert str(dataset) in page["cells"] and VERSION in page["cells"]
