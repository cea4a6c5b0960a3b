"""A look-up's table at a narrow terminal: where the table does not fit, each colour's answer is
shown a field a line, so no number is cut to `…`; where it fits, the table."""

from __future__ import annotations

import pytest
from rich.console import Console

from cli.predict import print_predictions
from fontpipe.predict import predict_colors


@pytest.fixture(scope="module")
def answers(tiny_version):
    return predict_colors(tiny_version, ["#336699", "oklch(63.7% 0.237 25.331)"], (255, 255, 255))


@pytest.mark.parametrize("width", [30, 40, 80])
def test_no_number_is_cut_at_a_narrow_terminal(answers, tiny_version, width):
    console = Console(width=width, record=True, force_terminal=True)
    print_predictions(console, answers, tiny_version.name)
    shown = console.export_text()
    assert "…" not in shown
    for row in answers:
        assert row.text in shown
        for number in (
            f"{row.p_black:.4f}",
            f"{row.contrast_black:.2f}:1",
            f"{row.apca_lc_white:.1f}",
        ):
            assert number in shown
    assert "┃" not in shown  # the block view, not a squeezed table


def test_a_wide_terminal_gets_the_table(answers, tiny_version):
    console = Console(width=200, record=True, force_terminal=True)
    print_predictions(console, answers, tiny_version.name)
    shown = console.export_text()
    assert "┃ colour" in shown and "…" not in shown
    assert f"{answers[0].contrast_ratio:.2f}:1" in shown
