from __future__ import annotations

import itertools

import numpy as np
import pytest

from fontpipe.color.cube import cube_colours, cube_index, to_float16_keeping_decision
from fontpipe.color.rules import RULES
from fontpipe.evaluation.metrics import evaluate_cube, evaluate_split, grey_ramp, rule_cube_table
from fontpipe.schema import CUBE_SIZE

MEAN = RULES["mean"]


def sum_counts() -> np.ndarray:
    """How many colours have each r+g+b, 0..765, by convolution (brute force over sums)."""
    ones = np.ones(256, dtype=np.int64)
    return np.convolve(np.convolve(ones, ones), ones)


@pytest.fixture(scope="module")
def mean_rule_table():
    return rule_cube_table(MEAN)


def test_cube_indexing_round_trips():
    rgb = np.array([[0, 0, 0], [255, 255, 255], [1, 2, 3], [128, 0, 255]], dtype=np.uint8)
    index = cube_index(rgb)
    assert list(index) == [0, CUBE_SIZE - 1, (1 << 16) | (2 << 8) | 3, (128 << 16) | 255]
    for i, expected in zip(index, rgb, strict=True):
        np.testing.assert_array_equal(cube_colours(int(i), int(i) + 1)[0], expected)


def test_the_rule_as_a_model_is_perfect(mean_rule_table):
    evaluation = evaluate_cube(mean_rule_table, MEAN).model_dump()
    assert evaluation["errors"] == 0 and evaluation["accuracy"] == 1.0
    assert evaluation["ece"] == 0.0
    assert evaluation["worst_errors"] == []
    assert evaluation["rule_agreement"]["mean"] == 1.0


def test_always_black_errs_on_exactly_the_white_colours():
    evaluation = evaluate_cube(np.ones(CUBE_SIZE, dtype=np.float16), MEAN).model_dump()
    white = int(sum_counts()[:383].sum())  # r+g+b <= 382
    assert white == 8_388_608  # the cube is symmetric about 382.5
    assert evaluation["errors"] == white
    assert evaluation["confusion"] == {
        "true_white_pred_white": 0,
        "true_white_pred_black": white,
        "true_black_pred_white": 0,
        "true_black_pred_black": CUBE_SIZE - white,
    }
    # The worst errors are the darkest colours: black is farthest from the boundary.
    assert evaluation["worst_errors"][0]["rgb"] == [0, 0, 0]
    assert evaluation["worst_errors"][0]["margin"] == pytest.approx(
        -382.5
    )  # signed: deep on the white side
    # Every colour gets black text, so the AA share is the share with (L + 0.05) / 0.05 >= 4.5.
    assert evaluation["wcag"]["min_contrast"] == pytest.approx(1.0)


def test_band_counts_match_brute_force(mean_rule_table):
    counts = sum_counts()
    distance = np.abs(np.arange(766) - 382.5)
    edges = (0, *MEAN.band_edges, np.inf)
    expected = [
        int(counts[(distance >= lo) & (distance < hi)].sum())
        for lo, hi in itertools.pairwise(edges)
    ]
    bands = evaluate_cube(mean_rule_table, MEAN).model_dump()["bands"]
    assert [b["colours"] for b in bands] == expected
    assert sum(expected) == CUBE_SIZE
    assert expected[0] == counts[382] + counts[383]  # |m| < 1.5 holds sums 382 and 383 only


def test_errors_land_in_the_right_band():
    table = rule_cube_table(MEAN)
    flipped = cube_index(
        np.array([[128, 128, 127], [127, 128, 127], [200, 200, 200]], dtype=np.uint8)
    )
    table[flipped] = 1 - table[flipped]
    evaluation = evaluate_cube(table, MEAN).model_dump()
    errors_by_band = [b["errors"] for b in evaluation["bands"]]
    assert errors_by_band == [2, 0, 0, 0, 0, 0, 1]
    assert evaluation["boundary_band"]["errors"] == 2
    assert evaluation["worst_errors"][0]["hex"] == "#c8c8c8"


def test_ece_on_known_inputs():
    # P(black) = 0.75 everywhere while half the colours need black: ECE = |0.75 - 0.5| = 0.25.
    evaluation = evaluate_cube(np.full(CUBE_SIZE, 0.75, dtype=np.float16), MEAN).model_dump()
    assert evaluation["ece"] == pytest.approx(0.25)
    (used,) = [r for r in evaluation["reliability"] if r["count"]]
    assert used["bin"] == "0.7-0.8" and used["black_share"] == pytest.approx(0.5)


def test_grey_ramp_flip(mean_rule_table):
    ramp = grey_ramp(mean_rule_table).model_dump()
    assert ramp["flip_at"] == 128  # 3 * 128 = 384 >= 383; 3 * 127 = 381
    assert ramp["p_black"][127] == 0.0 and ramp["p_black"][128] == 1.0


def test_float16_table_keeps_decisions_at_the_boundary():
    p = np.array([0.50001, 0.5, 0.49999, 0.9], dtype=np.float32)
    half = to_float16_keeping_decision(p)
    np.testing.assert_array_equal(half > 0.5, p > 0.5)


def test_split_evaluation_counts():
    rgb = np.array([[0, 0, 0], [255, 255, 255], [128, 128, 127], [127, 128, 127]], dtype=np.uint8)
    result = evaluate_split(
        np.array([0.1, 0.9, 0.4, 0.2], dtype=np.float32), rgb, MEAN
    ).model_dump()
    assert result["errors"] == 1 and result["accuracy"] == 0.75
    assert result["confusion"]["true_black_pred_white"] == 1
