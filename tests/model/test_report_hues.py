""" "At most two per hue" holds: the worst errors a report shows, over the whole cube, and the
swatches of the rules' questions."""

from __future__ import annotations

from collections import Counter

import numpy as np

from fontpipe.color.cube import cube_colours_of, cube_index
from fontpipe.color.rule_cube import cube_labels, cube_margins
from fontpipe.color.rules import get_rule
from fontpipe.evaluation.metrics import (
    PER_HUE,
    WORST_ERRORS,
    diverse_worst,
    evaluate_cube,
    hue_buckets,
)
from fontpipe.evaluation.questions import hue_spread, rule_questions
from fontpipe.schema import CUBE_SIZE


def float_hue_buckets(indices: np.ndarray) -> np.ndarray:
    """The HSV formula in floating point: the reference the integer buckets must match."""
    rgb = cube_colours_of(indices).astype(np.float64)
    high, low = rgb.max(axis=1), rgb.min(axis=1)
    spread = np.where(high > low, high - low, 1.0)
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    hue = np.select(
        [high == r, high == g], [((g - b) / spread) % 6, (b - r) / spread + 2], (r - g) / spread + 4
    )
    return np.where(high > low, (hue * 2).astype(np.int64) % 12, 12)


def test_integer_hue_buckets_match_the_hsv_formula():
    every_17th = np.arange(0, CUBE_SIZE, 17, dtype=np.int64)
    assert np.array_equal(hue_buckets(every_17th), float_hue_buckets(every_17th))
    named = cube_index(np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [128, 128, 128]], np.uint8))
    assert hue_buckets(named.astype(np.int64)).tolist() == [0, 4, 8, 12]


def test_one_hue_of_errors_shows_two_not_twenty_four():
    reds = cube_index(np.array([[255, g, 0] for g in range(0, 60, 2)], np.uint8)).astype(np.int64)
    assert set(hue_buckets(reds).tolist()) == {0}
    chosen = diverse_worst(reds, np.linspace(100, 1, len(reds)))
    assert chosen == [0, 1]  # the two largest margins of the one hue, largest first


def test_worst_errors_over_the_cube_keep_two_per_hue_and_reach_rarer_hues():
    """Hundreds of far errors in the reds, a few smaller ones elsewhere: every hue with an error
    is shown (two at most), not the reds' next largest."""
    rule = get_rule("mean")
    labels = cube_labels(rule.name)
    margins = np.abs(cube_margins(rule.name))
    everything = np.arange(CUBE_SIZE, dtype=np.int64)
    rng = np.random.default_rng(3)
    buckets = hue_buckets(everything)
    reds = np.flatnonzero((buckets == 0) & (margins > 60))[:2_000]
    others = [
        rng.choice(np.flatnonzero((buckets == b) & (margins > 5) & (margins < 20)), 3)
        for b in range(1, 13)
    ]
    wrong = np.concatenate([reds, *others])
    table = labels.astype(np.float16)
    table[wrong] = 1 - table[wrong]
    worst = evaluate_cube(table, rule).worst_errors
    shown = cube_index(np.array([e.rgb for e in worst], np.uint8)).astype(np.int64)
    per_hue = Counter(hue_buckets(shown).tolist())
    assert max(per_hue.values()) <= PER_HUE
    assert set(per_hue) == set(range(13))  # every hue that holds an error
    assert len(worst) == min(WORST_ERRORS, 2 * 13)
    assert all(entry.predicted != entry.expected for entry in worst)
    margins_shown = [abs(e.margin or 0) for e in worst]
    assert margins_shown == sorted(margins_shown, reverse=True)


def test_question_swatches_keep_at_most_two_per_hue():
    swatches = rule_questions().swatches
    rgb = np.array([[int(s.hex[i : i + 2], 16) for i in (1, 3, 5)] for s in swatches], np.uint8)
    per_hue = Counter(hue_buckets(cube_index(rgb).astype(np.int64)).tolist())
    assert swatches and max(per_hue.values()) <= PER_HUE
    assert all(s.readable != s.wcag for s in swatches)


def test_hue_spread_draws_each_hue_before_any_hues_second():
    rng = np.random.default_rng(0)
    everything = rng.integers(0, CUBE_SIZE, 50_000).astype(np.int64)
    picked = hue_spread(everything, 15, rng)
    buckets = hue_buckets(picked).tolist()
    assert len(picked) == 15 and len(set(picked.tolist())) == 15
    assert sorted(buckets[:13]) == list(range(13)) and max(Counter(buckets).values()) <= PER_HUE
    only_reds = everything[hue_buckets(everything) == 0]
    assert len(hue_spread(only_reds, 12, rng)) == PER_HUE
