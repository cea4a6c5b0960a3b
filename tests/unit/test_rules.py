from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fontpipe.color.rules import (
    RULES,
    WCAG_LUMINANCE_THRESHOLD,
    get_rule,
    mean_label,
    relative_luminance,
    text_contrast,
    text_contrast_ratio,
    wcag_label,
    yiq_label,
)
from fontpipe.errors import FontpipeError

colours = arrays(np.uint8, st.tuples(st.integers(1, 50), st.just(3)))


def test_mean_hand_checked():
    assert mean_label([128, 128, 127]) == 1  # sum 383
    assert mean_label([127, 128, 127]) == 0  # sum 382
    assert mean_label([255, 255, 255]) == 1
    assert mean_label([0, 0, 0]) == 0
    assert RULES["mean"].margin([128, 128, 127]) == pytest.approx(0.5)


def test_wcag_hand_checked_greys():
    assert wcag_label([118, 118, 118]) == 1
    assert wcag_label([117, 117, 117]) == 0
    assert pytest.approx(0.1791, abs=1e-4) == WCAG_LUMINANCE_THRESHOLD


def test_wcag_luminance_and_contrast_known_values():
    assert relative_luminance([255, 255, 255]) == pytest.approx(1.0)
    assert relative_luminance([0, 0, 0]) == pytest.approx(0.0)
    assert text_contrast(np.array([1.0]), [True])[0] == pytest.approx(21.0)  # black on white
    assert text_contrast(np.array([0.0]), [False])[0] == pytest.approx(21.0)  # white on black
    # Pure red: L = 0.2126, ratio against white (1.05)/(0.2626) ~ 3.998.
    assert text_contrast_ratio([255, 0, 0], False) == pytest.approx(1.05 / 0.2626)


def test_wcag_linearisation_threshold_branch():
    # c = 10/255 = 0.0392 <= 0.04045 takes the linear branch; 11/255 = 0.0431 the power branch.
    assert relative_luminance([10, 10, 10]) == pytest.approx((10 / 255) / 12.92)
    assert relative_luminance([11, 11, 11]) == pytest.approx(((11 / 255 + 0.055) / 1.055) ** 2.4)


def test_yiq_threshold_exact():
    # 299*r + 587*g + 114*b == 128000 exactly is black; one unit less is white.
    assert yiq_label([128, 128, 128]) == 1  # 128000 / 1000 = 128
    assert yiq_label([127, 128, 128]) == 0  # 127701
    assert yiq_label([0, 218, 0]) == 0  # 587*218 = 127966
    assert yiq_label([0, 218, 1]) == 1  # 127966 + 114 = 128080
    assert yiq_label([0, 219, 0]) == 1  # 128553


@pytest.mark.parametrize("name", sorted(RULES))
def test_float_and_uint8_paths_agree(name):
    rule = RULES[name]
    cube_sample = np.random.default_rng(1).integers(0, 256, size=(50_000, 3)).astype(np.uint8)
    np.testing.assert_array_equal(
        rule.label(cube_sample), rule.label(cube_sample.astype(np.float32))
    )
    # apca's bulk uint8 path reads Lc from a table of Y: its label is exact, its margin within
    # 0.02 Lc (fontpipe.color.rules.apca_margin); every other rule's margin is the same number.
    np.testing.assert_allclose(
        rule.margin(cube_sample),
        rule.margin(cube_sample.astype(np.float64)),
        atol=0.02 if name == "apca" else 0,
    )


def test_unknown_rule_is_a_clear_error():
    with pytest.raises(FontpipeError, match="unknown rule 'nope'"):
        get_rule("nope")


@given(colours)
def test_mean_matches_integer_definition(rgb):
    expected = (rgb.astype(int).sum(axis=1) >= 383).astype(np.int8)
    np.testing.assert_array_equal(mean_label(rgb), expected)


@given(colours)
def test_yiq_matches_integer_definition(rgb):
    weighted = rgb.astype(int) @ np.array([299, 587, 114])
    np.testing.assert_array_equal(yiq_label(rgb), (weighted >= 128_000).astype(np.int8))


@given(colours)
def test_wcag_picks_the_text_colour_with_higher_contrast(rgb):
    luminance = relative_luminance(rgb)
    black = text_contrast(np.asarray(luminance, dtype=np.float64), True)
    white = text_contrast(np.asarray(luminance, dtype=np.float64), False)
    np.testing.assert_array_equal(wcag_label(rgb), (black > white).astype(np.int8))


@given(colours)
def test_label_is_sign_of_margin_for_every_rule(rgb):
    for rule in RULES.values():
        np.testing.assert_array_equal(rule.label(rgb), (rule.margin(rgb) > 0).astype(np.int8))


@given(st.integers(0, 255))
def test_greys_are_monotonic(v):
    # A lighter grey never flips from black text back to white.
    for rule in RULES.values():
        if rule.label([v, v, v]) == 1 and v < 255:
            assert rule.label([v + 1, v + 1, v + 1]) == 1


def test_text_contrast_is_at_least_the_other_choice_for_the_wcag_rule():
    rgb = np.random.default_rng(0).integers(0, 256, size=(10_000, 3)).astype(np.uint8)
    chosen = text_contrast_ratio(rgb, wcag_label(rgb).astype(bool))
    other = text_contrast_ratio(rgb, ~wcag_label(rgb).astype(bool))
    assert np.all(chosen >= other)
    assert chosen.min() >= math.sqrt(21) - 1e-9  # the best choice never falls below sqrt(21)
