"""A real report, rendered: the training config of its family, the data row's counts, the
calibration chart's bins, and the headline read in headless Chromium at 420 CSS px without
anything cut off."""

from __future__ import annotations

import json
import re
import time
from html import unescape

import pytest

from fontpipe.evaluation import plots
from fontpipe.evaluation.card import config_text, data_text, family_config
from fontpipe.evaluation.evaluate_version import evaluate_version
from fontpipe.evaluation.report import write_report
from fontpipe.model import ModelConfig
from fontpipe.training.config import TrainConfig
from fontpipe.training.recipes import Recipe
from tests.model.test_report_escaping import devtools_page


@pytest.fixture(scope="module")
def report(tiny_version, tmp_path_factory):
    assessment = evaluate_version(tiny_version, recipe=Recipe(rows=2_000, steps=60))
    target = tmp_path_factory.mktemp("page") / "v" / "report.html"
    write_report(assessment, target)
    return assessment, target


def section(html: str, name: str) -> str:
    start = html.index(f'<section id="{name}"')
    return html[start : html.index("</section>", start)]


def words(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


MLP_FIELDS = {"model.hidden", "learning_rate", "epochs", "schedule", "inputs.batch_size"}


def test_a_channel_table_config_shows_no_mlp_settings_and_the_mlp_no_newton_steps():
    tables = family_config(
        TrainConfig(model=ModelConfig(architecture="channel-tables")).model_dump(mode="json")
    )
    assert not MLP_FIELDS & set(tables) and not {"prior", "prior_rows"} & set(tables)
    assert tables["max_newton_steps"] == 60 and tables["model.architecture"] == "channel-tables"
    mlp = family_config(TrainConfig().model_dump(mode="json"))
    assert set(mlp) >= MLP_FIELDS and "max_newton_steps" not in mlp
    assert "prior_rows" not in mlp  # read only with a prior
    with_prior = family_config(TrainConfig(prior="wcag", prior_rows=5_000).model_dump(mode="json"))
    assert with_prior["prior_rows"] == 5_000 and with_prior["prior"] == "wcag"
    # A setting this release does not know is kept, not hidden.
    assert family_config({"model": {"architecture": "mlp"}, "future": 1}) == {
        "model.architecture": "mlp",
        "future": 1,
    }


def test_the_report_shows_its_familys_config(report):
    assessment, target = report
    metadata = words(section(target.read_text(), "metadata"))
    config = assessment.version.metadata.config
    assert config_text(config) in metadata
    assert "model.hidden=" in metadata and "max_newton_steps" not in metadata
    assert "epochs run" in metadata


def test_the_data_row_counts_the_rows_written_and_a_priors_generated_rows(report):
    assessment, target = report
    rows = assessment.version.metadata.dataset.rows
    card = words(section(target.read_text(), "model-card"))
    assert f"{sum(rows.values()):,} rows generated (boundary sampling)" in card
    assert f"{rows['train']:,} / {rows['val']:,} / {rows['test']:,}" in card
    meta = {
        "dataset": {"rows": {"train": 480, "val": 60, "test": 60}, "sampling": "labelled"},
        "config": {"prior": "wcag", "prior_rows": 5_000, "prior_weight": 0.3},
    }
    said = data_text(meta, human=True)
    assert said.startswith("600 human-labelled colours")
    assert "5,000 rows generated uniformly and labelled by the wcag rule" in said


def test_the_calibration_table_says_which_bins_the_chart_leaves_out(report):
    assessment, target = report
    calibration = section(target.read_text(), "calibration")
    rows = re.findall(
        r"<tr><td>([\d.]+-[\d.]+)</td><td>([\d,]+)</td>.*?<td>([^<]*)</td></tr>", calibration
    )
    assert len(rows) == 10
    for (_, count, shown), bin_ in zip(rows, assessment.metrics.cube.reliability, strict=True):
        assert int(count.replace(",", "")) == bin_.count
        expected = "yes" if bin_.count >= plots.CALIBRATION_MIN_COLOURS else "no"
        assert shown.startswith(expected)


def test_the_calibration_chart_counts_every_bin_and_plots_only_full_ones(monkeypatch):
    def curve(counts: list[int]) -> dict:
        bins = [
            {
                "count": n,
                "mean_p_black": i / 10 + 0.05 if n else None,
                "black_share": 0.5 if n else None,
            }
            for i, n in enumerate(counts)
        ]
        return {"reliability": bins, "ece": 0.01}

    model = [9_000_000, 0, 12, 99, 100, 5_000, 0, 0, 3, 7_000_000]
    figure = plots.reliability_figure({"model": curve(model), "recipe": curve([1_000] * 10)})
    diagram, counts = figure.axes
    model_line = diagram.get_lines()[1]  # after the perfect-calibration diagonal
    plotted = [round(x, 2) for x in model_line.get_xdata()]
    assert plotted == [0.05, 0.45, 0.55, 0.95]  # the bins holding at least 100 colours
    bars = counts.containers[0]
    assert [int(bar.get_height()) for bar in bars] == model
    labels = [t.get_text() for t in counts.texts]
    assert "9,000,000" in labels and "12" in labels and labels.count("0") == 3
    plots._pyplot().close(figure)


# Measured in the page as laid out: the headline table's box, each of its cells, and whether
# the page itself scrolls sideways.
PROBE = """JSON.stringify((() => {
  const view = document.documentElement.clientWidth;
  const table = document.getElementById("headline-table");
  const box = table.getBoundingClientRect();
  const cells = [...table.querySelectorAll("td")];
  const clipped = cells.filter(td => {
    const b = td.getBoundingClientRect();
    return b.left < -0.5 || b.right > view + 0.5 || td.scrollWidth > td.clientWidth + 1;
  }).length;
  return {
    inner: window.innerWidth, view, left: box.left, right: box.right,
    page: document.documentElement.scrollWidth, clipped, cells: cells.length,
    header: getComputedStyle(table.querySelector("thead")).display,
    labels: cells.slice(1, 9).map(td => getComputedStyle(td, "::before").content),
  };
})())"""


def layout(call, width: int) -> dict:
    """The probe's figures with the page shown on a `width` CSS px screen (as a phone: the
    page's viewport meta decides its layout width)."""
    call(
        "Emulation.setDeviceMetricsOverride",
        width=width,
        height=2000,
        deviceScaleFactor=1,
        mobile=width < 800,
    )
    for _ in range(100):
        result = call("Runtime.evaluate", expression=PROBE, returnByValue=True)
        value = result.get("result", {}).get("value")
        if value and json.loads(value)["inner"] == width:
            return dict(json.loads(value))
        time.sleep(0.1)
    raise AssertionError(f"the page never laid out at {width} px: {value}")


@pytest.mark.browser
def test_the_headline_reads_whole_at_420_css_px(report, tmp_path):
    _, target = report
    with devtools_page(target.as_uri(), tmp_path / "profile") as call:
        for _ in range(100):
            ready = call("Runtime.evaluate", expression="document.readyState", returnByValue=True)
            if ready.get("result", {}).get("value") == "complete":
                break
            time.sleep(0.1)
        narrow = layout(call, 420)
        wide = layout(call, 1200)
    assert narrow["view"] == 420
    assert narrow["cells"] == 9 * 4  # the model, the rule and two recipes
    assert narrow["left"] >= 0 and narrow["right"] <= narrow["view"]
    assert narrow["clipped"] == 0 and narrow["page"] <= narrow["view"]
    # Each figure carries its column's name where the header row is not shown.
    assert narrow["header"] == "none"
    assert narrow["labels"][:2] == ['"held-out accuracy"', '"errors"']
    assert wide["header"] != "none" and wide["clipped"] == 0 and wide["labels"][0] == "none"
