"""Pure generation: rows in memory, no files."""

from __future__ import annotations

import numpy as np
import pytest

from fontpipe.color.rules import RULES
from fontpipe.data.generation import GenerateConfig, generate_rows, parse_generate_config
from fontpipe.errors import FontpipeError


def small(**overrides):
    values = {"rows": 10_000, "rows_per_file": 3_000, "seed": 7}
    values.update(overrides)
    return GenerateConfig(**values)


def test_generation_is_deterministic_and_seed_dependent():
    a = generate_rows(small())
    b = generate_rows(small())
    c = generate_rows(small(seed=8))
    np.testing.assert_array_equal(a.rgb, b.rgb)
    assert not np.array_equal(a.rgb, c.rgb)


@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize("sampling", ["uniform-int", "uniform-float", "boundary"])
def test_labels_follow_the_rule(rule, sampling):
    chunk = generate_rows(small(rule=rule, sampling=sampling))
    np.testing.assert_array_equal(chunk.label, RULES[rule].label(chunk.rgb))
    if sampling == "uniform-float":
        assert chunk.rgb.dtype == np.float32
        assert chunk.rgb.min() >= 0 and chunk.rgb.max() <= 255
        assert not np.all(chunk.rgb == np.round(chunk.rgb))  # really continuous
    else:
        assert chunk.rgb.dtype == np.uint8


def test_boundary_sampling_puts_the_share_near_the_boundary():
    config = small(sampling="boundary", boundary_share=0.6, boundary_width=6)
    chunk = generate_rows(config)
    near = np.abs(RULES["mean"].margin(chunk.rgb)) < 6
    # 60 % by construction plus the few uniform rows that land there by chance (~4.7 %).
    assert 0.6 <= near.mean() < 0.66


def test_split_fractions_are_exact():
    assert small(split_fractions=(0.7, 0.2, 0.1)).split_rows() == {
        "train": 7000,
        "val": 2000,
        "test": 1000,
    }
    assert sum(small(rows=10_001).split_rows().values()) == 10_001


@pytest.mark.parametrize(
    "values, message",
    [
        ({"rows": -5}, "rows"),
        ({"rows": 0}, "rows"),
        ({"rule": "nope"}, "unknown rule"),
        ({"split_fractions": (0.5, 0.1, 0.1)}, "sum to 1"),
        ({"split_fractions": (0.0, 0.5, 0.5)}, "train split would be empty"),
        ({"rows_per_file": 0}, "rows_per_file"),
    ],
)
def test_bad_config_is_a_clear_error(values, message):
    with pytest.raises(FontpipeError, match=message):
        parse_generate_config(**values)
