"""Learning curves on small shares of the cube: the held-out set is exactly the colours a point
neither trained nor validated on, the figures are real, and the report reads the bench's file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fontpipe.color.rules import get_rule
from fontpipe.data.splits import rounded_index
from fontpipe.errors import FontpipeError
from fontpipe.evaluation.learning_curve import (
    LearningCurve,
    curve_point,
    data_needed,
    draw_sample,
    merge_curves,
    read_learning_curve,
    write_learning_curve,
)
from fontpipe.evaluation.report import learning_curve_section
from fontpipe.schema import CUBE_SIZE


@pytest.fixture(scope="module")
def wcag_tables():
    return curve_point("wcag", "channel-tables", "uniform", 0.001, seed=3)


@pytest.fixture(scope="module")
def mean_tables():
    # The retrain's own sampling and size: 1 % of the cube, boundary-weighted.
    return curve_point("mean", "channel-tables", "boundary", 0.01, seed=1)


@pytest.fixture(scope="module")
def curve(wcag_tables, mean_tables):
    mlp = curve_point("mean", "mlp", "uniform", 0.001, seed=2, max_epochs=2)
    return LearningCurve(
        generated="2024-01-01T00:00:00+00:00",
        machine="2 CPU cores",
        points=[wcag_tables, mean_tables, mlp],
    )


def test_held_out_colours_are_the_cube_less_train_and_validation(wcag_tables):
    sample = draw_sample("wcag", "uniform", 0.001, seed=3)
    train = np.unique(rounded_index(sample.train.rgb))
    val = np.unique(rounded_index(sample.val.rgb))
    assert len(np.intersect1d(train, val)) == 0  # colour-disjoint
    rows = sample.config.split_rows()
    assert wcag_tables.train_colours == len(train) == rows["train"]
    assert len(train) == pytest.approx(CUBE_SIZE * 0.001, abs=2)
    assert wcag_tables.val_colours == len(val) == rows["val"] == round(len(train) / 8)
    assert wcag_tables.held_out_colours == CUBE_SIZE - len(train) - len(val)


def test_boundary_sample_puts_four_in_five_rows_in_the_band():
    sample = draw_sample("wcag", "boundary", 0.001, seed=0)
    width = sample.config.boundary_width
    assert width is not None
    near = np.abs(get_rule("wcag").margin(sample.train.rgb)) < width
    assert near.mean() == pytest.approx(0.8, abs=0.01)


def test_mean_tables_from_the_retrains_sample_make_no_held_out_error(mean_tables):
    assert mean_tables.train_colours == pytest.approx(CUBE_SIZE * 0.01, abs=2)
    assert mean_tables.errors == mean_tables.far_errors == mean_tables.aa_lost == 0
    assert "chosen on the validation split" in mean_tables.fit


def test_far_errors_never_exceed_errors(curve):
    for point in curve.points:
        assert 0 <= point.far_errors <= point.errors
        assert 0 <= point.aa_lost <= point.errors
        assert point.fit_seconds >= 0
    mlp = curve.points[-1]
    assert mlp.family == "mlp" and mlp.epochs_capped and "a cap of 2" in mlp.fit


def test_the_json_round_trips_and_a_partial_run_keeps_the_rest(curve, tmp_path):
    path = write_learning_curve(curve, tmp_path / "reports" / "learning-curve.json")
    assert read_learning_curve(path) == curve
    again = curve.model_copy(update={"points": [curve.points[0]]})
    merged = merge_curves(curve, again)
    assert sorted(merged.points, key=repr) == sorted(curve.points, key=repr)


def test_a_broken_file_is_refused_with_the_reason(curve, tmp_path):
    path = tmp_path / "learning-curve.json"
    payload = json.loads(curve.model_dump_json())
    payload["points"][0]["errors"] = "many"
    path.write_text(json.dumps(payload))
    with pytest.raises(FontpipeError, match="not a learning curve"):
        read_learning_curve(path)


def test_sentences_say_how_much_data_the_decision_needs(mean_tables):
    (sentence,) = data_needed([mean_tables])
    assert sentence.startswith("channel-tables, boundary sampling: 1 % of the cube")
    assert "no error" in sentence


def test_report_section_from_a_file(curve, tmp_path):
    path = write_learning_curve(curve, tmp_path / "learning-curve.json")
    html = learning_curve_section(path, get_rule("mean"))
    assert "167,771" in html and "boundary" in html and "mlp" in html
    assert "wcag" not in html.split("<table>")[1]  # the rule's rows only
    assert "how much data the decision needs" in html
    assert "1 % of the cube (167,771 colours) is enough for no error" in html


def test_report_section_without_a_file_or_with_a_broken_one(tmp_path):
    absent = learning_curve_section(tmp_path / "learning-curve.json", get_rule("wcag"))
    assert "python bench/learning_curve.py" in absent and "<table>" not in absent
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    html = learning_curve_section(broken, get_rule("wcag"))
    assert "could not be read" in html and "<table>" not in html
