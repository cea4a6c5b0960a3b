"""What a retrain learns from: 1 % of the cube, mostly near the rule's boundary, seeded per run."""

from __future__ import annotations

import numpy as np
import pytest

from fontpipe.color.rules import RULES
from fontpipe.data.generation import _uniform_int
from fontpipe.schema import CUBE_SIZE, RULE_NAMES
from fontpipe.steps.retrain import fresh_seed, teaching_sample


@pytest.mark.parametrize("rule", RULE_NAMES)
def test_one_percent_of_the_cube_most_of_it_near_the_boundary(rule):
    config = teaching_sample(rule, seed=5)
    rows = config.split_rows()
    assert rows["train"] <= CUBE_SIZE // 100 < rows["train"] + 2
    assert rows["val"] == rows["test"] == round(config.rows / 10)
    assert config.sampling == "boundary" and config.seed == 5 and config.rule == rule
    # The band holds about twice the colours drawn from it, so about half stay unseen (mean's
    # margin moves in whole steps, so its band holds a little less).
    sample = _uniform_int(np.random.default_rng(1), 1 << 20)
    in_band = np.mean(np.abs(RULES[rule].margin(sample)) < config.boundary_width) * CUBE_SIZE
    drawn = config.rows * config.boundary_share
    assert 1.7 * drawn < in_band < 2.1 * drawn


def test_each_run_draws_a_new_seed_unless_given():
    seeds = {fresh_seed() for _ in range(5)}
    assert len(seeds) == 5
    assert teaching_sample("wcag", 3) == teaching_sample("wcag", 3)
    assert teaching_sample("wcag", 3).params_hash() != teaching_sample("wcag", 4).params_hash()
