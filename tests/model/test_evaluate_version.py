from __future__ import annotations

import base64
import json
import shutil
import subprocess
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from fontpipe.data.datasets import read_split_arrays, write_dataset
from fontpipe.data.generation import GenerateConfig
from fontpipe.evaluation.evaluate_version import evaluate_version
from fontpipe.evaluation.report import write_report
from fontpipe.training.config import TrainConfig
from fontpipe.training.inputs import InputConfig
from fontpipe.training.recipes import Recipe
from fontpipe.training.train import train_version
from tests.chromium import HEADLESS

TINY_RECIPE = Recipe(rows=2_000, steps=60)
SECTIONS = {
    "model-card",
    "questions",
    "headline",
    "champion",
    "training",
    "bands",
    "calibration",
    "decision-maps",
    "grey-ramp",
    "swatches",
    "rules",
    "learning-curve",
    "test-split",
    "metadata",
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    dataset, _ = write_dataset(
        GenerateConfig(rows=30_000, sampling="boundary", seed=9), root / "ds"
    )
    result = train_version(
        dataset,
        TrainConfig(epochs=2, inputs=InputConfig(batch_size=256), device="cpu"),
        root / "models",
    )
    return dataset, result


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sections: set[str] = set()
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "section":
            self.sections.add(attributes.get("id", ""))
        if tag == "img":
            self.images.append(attributes.get("src", ""))


@pytest.fixture(scope="module")
def report(trained, tmp_path_factory):
    dataset, result = trained
    assessment = evaluate_version(result.path, dataset_path=dataset.path, recipe=TINY_RECIPE)
    target = tmp_path_factory.mktemp("report") / "out" / "report.html"
    write_report(assessment, target)
    return assessment, target


def test_report_has_every_section_and_embedded_png_images(report):
    assessment, target = report
    html = target.read_text()
    parser = _Collector()
    parser.feed(html)
    assert parser.sections >= SECTIONS
    assert (
        len(parser.images) == 6
    )  # bands, calibration, decision maps, grey ramp, training, questions
    for src in parser.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert (
        "http://" not in html and "https://" not in html
    )  # opens offline: no CDN, no remote assets
    assert assessment.version.name in html
    assert "the answer&#39;s recipe" in html and "the question&#39;s recipe" in html
    # The headline names what it was measured on: colours the model never saw, and how many.
    cube = assessment.metrics.cube
    assert f"the {cube.colours:,} colours of the cube this model never saw" in html


def test_metrics_json_beside_the_report(report, trained):
    assessment, target = report
    metrics = json.loads((target.parent / "metrics.json").read_text())
    assert metrics["version"] == assessment.version.name
    assert metrics["headline"]["errors"] == metrics["cube"]["errors"]
    assert set(metrics["baselines"]) == {"rule", "answer_recipe", "question_recipe"}
    # Held out: every colour of the cube except the dataset's train and val colours.
    dataset, _ = trained
    seen = {
        tuple(c)
        for split in ("train", "val")
        for c in read_split_arrays(dataset, split)[0].astype(int).tolist()
    }
    assert metrics["cube"]["scope"] == metrics["headline"]["scope"] == "held-out"
    assert metrics["cube"]["colours"] == 16_777_216 - len(seen)
    assert metrics["cube"]["seen_colours"] == len(seen)
    assert metrics["cube"]["far_errors"] <= metrics["cube"]["errors"]
    spread = metrics["baselines"]["question_recipe"]["p_black_spread"]
    assert spread["min"] <= spread["max"] and spread["std"] >= 0
    assert metrics["baselines"]["rule"]["headline"]["errors"] == 0
    assert metrics["test_split"]["rows"] == 3_000
    assert isinstance(metrics["beats_answer_recipe"], bool)
    assert (assessment.version.path / "cube.npy").exists()  # saved with the version for scoring


def test_rule_override(trained):
    _, result = trained
    assessment = evaluate_version(result.path, rule_name="yiq", recipe=None)
    assert assessment.metrics.rule == "yiq"
    # The same share, counted two ways (agreements, and 1 - errors): equal to the last bits.
    agreement = assessment.metrics.cube.rule_agreement["yiq"]
    assert agreement == pytest.approx(assessment.metrics.headline.accuracy, rel=1e-12, abs=0)


def test_cli_evaluate_and_its_errors(trained, tmp_path):
    _, result = trained
    runner = CliRunner()
    out = tmp_path / "r" / "report.html"
    ok = runner.invoke(
        app, ["evaluate", "--model", str(result.path), "--report", str(out), "--no-baseline"]
    )
    assert ok.exit_code == 0, ok.output
    assert out.exists() and (out.parent / "metrics.json").exists()
    for args, message in [
        (["--model", str(tmp_path / "missing")], "not found"),
        (["--model", str(result.path), "--rule", "nope"], "'nope' is not one of"),
        (["--model", str(result.path), "--report", "/proc/nope/report.html"], "cannot write"),
        (["--model", str(result.path), "--report", str(tmp_path)], "is a directory"),
    ]:
        failed = runner.invoke(app, ["evaluate", *args])
        assert failed.exit_code == 2, failed.output
        assert message in failed.output


# Headless Chromium on a machine with no network: the background-networking flags stop it from
# reaching for services it cannot reach.


def _chromium() -> str | None:
    return (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )


CHECK_IMAGES = """
<script>
window.addEventListener("load", () => {
  // Broken: not loaded, or laid out with no size on the page.
  const broken = [...document.images].filter(i => {
    const box = i.getBoundingClientRect();
    return !i.complete || i.naturalWidth === 0 || box.width === 0 || box.height === 0;
  }).length;
  document.body.setAttribute("data-images", document.images.length + ":" + broken);
});
</script>
"""


@pytest.mark.browser
def test_report_renders_in_headless_chromium_without_broken_images(report, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium installed (.ci/run installs it)")
    _, target = report
    probe = tmp_path / "probe.html"
    probe.write_text(target.read_text().replace("</body>", CHECK_IMAGES + "</body>"))
    flags = [
        *HEADLESS,
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=5000",
        "--dump-dom",
    ]
    done = subprocess.run(
        [browser, *flags, probe.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert 'data-images="6:0"' in done.stdout  # six images, none broken
    screenshot = tmp_path / "shot.png"  # the whole page: tall enough for every section
    subprocess.run(
        [
            browser,
            *flags[:-1],
            "--window-size=1200,9000",
            f"--screenshot={screenshot}",
            Path(target).as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert screenshot.stat().st_size > 20_000  # a real rendering, not a blank page


def test_training_curves_come_from_the_versions_history(report):
    from fontpipe.evaluation import plots
    from fontpipe.registry.versions import read_history

    assessment, target = report
    history = read_history(assessment.version)
    assert [row["epoch"] for row in history] == [1.0, 2.0]
    assert plots.training_curves_png(history) in target.read_text()
    assert plots.training_curves_png([]) is None


def test_champion_section_is_filled_with_the_decision_and_its_reason(report, tmp_path):
    from fontpipe.evaluation.report import write_comparison
    from fontpipe.records import Headline
    from fontpipe.registry.promotion import ChampionComparison, PromotionPolicy, decide_promotion

    assessment, target = report
    html = target.read_text()
    assert "Not compared" in html  # written without a comparison
    copy = tmp_path / "report.html"
    copy.write_text(html)
    challenger = assessment.metrics.headline
    champion = Headline(
        scope="held-out",
        colours=16_000_000,
        far_errors=0,
        accuracy=1.0,
        errors=0,
        boundary_accuracy=1.0,
        ece=0.0,
        aa_share=1.0,
        min_contrast=4.58,
    )
    decision = decide_promotion(challenger, champion, PromotionPolicy())
    assert not decision.promote
    comparison = ChampionComparison(
        rule=assessment.metrics.rule,
        challenger=assessment.version.name,
        champion="20260101-000000-abcdef",
        challenger_metrics=challenger,
        champion_metrics=champion,
        promote=decision.promote,
        reason=decision.reason,
        acted=True,
    )
    assert write_comparison(copy, comparison)
    filled = copy.read_text()
    assert "Not compared" not in filled and "20260101-000000-abcdef" in filled
    assert "Not promoted: " + escape(decision.reason, quote=False) in filled
    assert f"{challenger.errors:,}" in filled
    # Everything outside the section is untouched, and the section can be filled again.
    assert filled.split("<!--champion-->")[0] == html.split("<!--champion-->")[0]
    assert filled.split("<!--/champion-->")[1] == html.split("<!--/champion-->")[1]
    assert write_comparison(copy, comparison) and copy.read_text() == filled


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.browser
def test_report_colour_picker_answers_like_predict(report, tmp_path):
    """Type a colour into the report's text field in headless Chromium (over the DevTools
    protocol, as a keyboard would) and read the page's answer: it equals `fontpipe predict`."""
    import sys
    import time
    import urllib.request

    from websockets.sync.client import connect

    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium installed (.ci/run installs it)")
    assessment, target = report
    port = _free_port()
    process = subprocess.Popen(
        [
            browser,
            *HEADLESS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--remote-debugging-address=127.0.0.1",
            f"--remote-debugging-port={port}",
            Path(target).as_uri(),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        page = None
        while page is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as r:
                    targets = json.loads(r.read())
                page = next((t for t in targets if t.get("type") == "page"), None)
            except OSError:
                time.sleep(0.2)
        assert page is not None, "Chromium's DevTools endpoint never came up"
        with connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=30) as socket:
            ids = iter(range(1, 1_000))

            def call(method: str, **params: object) -> dict:
                message_id = next(ids)
                socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
                while True:
                    reply = json.loads(socket.recv(timeout=30))
                    if reply.get("id") == message_id:
                        return reply.get("result", {})

            def evaluate(expression: str) -> object:
                result = call("Runtime.evaluate", expression=expression, returnByValue=True)
                return result["result"].get("value")

            for _ in range(100):  # the page has loaded once its answer is drawn
                if evaluate("document.getElementById('try-answer').dataset.textColor"):
                    break
                time.sleep(0.1)
            answers = {}
            for typed in ("#32cd32", "rebeccapurple", "hsl(210 60% 40%)"):
                evaluate("var t = document.getElementById('try-text'); t.focus(); t.select(); 1")
                call("Input.insertText", text=typed)
                answers[typed] = evaluate(
                    "JSON.stringify(document.getElementById('try-answer').dataset)"
                )
    finally:
        process.kill()
        process.wait()
    fontpipe_cli = str(Path(sys.executable).with_name("fontpipe"))
    predicted = subprocess.run(
        [fontpipe_cli, "predict", *answers, "--json", "--model", str(assessment.version.path)],
        capture_output=True,
        text=True,
        check=True,
    )
    for row in json.loads(predicted.stdout)["predictions"]:
        page_answer = json.loads(str(answers[row["color"]]))
        assert page_answer["textColor"] == row["text_color"], row["color"]
        assert page_answer["srgbHex"] == row["srgb_hex"], row["color"]
        assert float(page_answer["contrast"]) == pytest.approx(row["contrast_ratio"], abs=1e-4)


def test_report_target_check_leaves_no_folders_behind(tmp_path):
    from fontpipe.evaluation.report import check_report_target

    target = tmp_path / "reports" / "v1" / "report.html"
    assert check_report_target(target) == target
    assert list(tmp_path.iterdir()) == []  # the report's own write makes the folders
    (tmp_path / "kept").mkdir()
    check_report_target(tmp_path / "kept" / "new" / "report.html")
    assert [p.name for p in tmp_path.iterdir()] == ["kept"] and not any(
        (tmp_path / "kept").iterdir()
    )


def test_an_evaluation_that_fails_late_leaves_nothing_behind(trained, tmp_path, monkeypatch):
    from fontpipe.errors import FontpipeError
    from fontpipe.steps import evaluate as evaluate_step

    def fails(*args, **kwargs):
        raise FontpipeError("the cube table could not be built")

    monkeypatch.setattr(evaluate_step, "evaluate_version", fails)
    _, result = trained
    out = tmp_path / "reports" / "v" / "report.html"
    failed = CliRunner().invoke(
        app, ["evaluate", "--model", str(result.path), "--report", str(out), "--no-baseline"]
    )
    assert failed.exit_code == 2 and "could not be built" in failed.output
    assert list(tmp_path.iterdir()) == []


def test_the_report_explains_where_the_browser_and_readable_differ(report):
    _, target = report
    page = target.read_text()
    section = page.split('<section id="questions">')[1].split("</section>")[0]
    # The counts over the cube: properties of the rules, the same in every report.
    assert "292,107" in section and "147,251" in section
    assert section.count("browser: black · readable: white") >= 6
