"""APCA and the two rules built on it, checked against colorjs.io (an independent implementation,
run in Node) on colours spread over the cube and on those nearest each rule's tie."""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from fontpipe.color import apca
from fontpipe.color.cube import cube_colours
from fontpipe.color.rules import get_rule, relative_luminance, text_contrast

ORACLE = Path(__file__).resolve().parents[1] / "oracle"


def oracle_contrasts(rgb: np.ndarray, tmp_path: Path) -> np.ndarray:
    """(n, 4): colorjs.io's APCA Lc of black and of white text, WCAG 2 contrast of each."""
    if shutil.which("node") is None or not (ORACLE / "node_modules" / "colorjs.io").is_dir():
        pytest.skip("colorjs.io is not installed (make test runs npm ci in tests/oracle)")
    colours = tmp_path / "colours.bin"
    colours.write_bytes(np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())
    done = subprocess.run(
        ["node", str(ORACLE / "contrast.mjs"), str(colours)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return np.loadtxt(done.stdout.splitlines(), delimiter=",", ndmin=2)


@functools.cache
def colorjs_oracle() -> tuple[np.ndarray, np.ndarray]:
    """`colours_to_check()` and colorjs.io's answers for them, computed once per test process
    (three tests compare against the same 300,000 answers)."""
    rgb = colours_to_check()
    with tempfile.TemporaryDirectory() as folder:
        return rgb, oracle_contrasts(rgb, Path(folder))


def colours_to_check(count: int = 200_000, nearest: int = 50_000) -> np.ndarray:
    """Colours spread over the cube, plus those nearest the apca and readable ties."""
    rng = np.random.default_rng(7)
    spread = rng.integers(0, 256, (count, 3), dtype=np.uint8)
    cube = cube_colours(0, 1 << 24)
    picks = [spread]
    for rule in ("apca", "readable"):
        margin = np.abs(get_rule(rule).margin(cube))
        picks.append(cube[np.argpartition(margin, nearest)[:nearest]])
    return np.concatenate(picks)


def test_known_values():
    # The README's example: both pass AA, black is the WCAG choice but white reads far better.
    on_black, on_white = apca.text_lc(np.array([[0x22, 0x77, 0xD3]], dtype=np.uint8))
    assert on_black[0] == pytest.approx(33.2230, abs=1e-4)
    assert on_white[0] == pytest.approx(-76.3341, abs=1e-4)
    extremes = np.array([[0, 0, 0], [255, 255, 255]], dtype=np.uint8)
    on_black, on_white = apca.text_lc(extremes)
    assert on_black.tolist()[0] == 0.0 and on_white.tolist()[1] == 0.0
    assert on_black[1] == pytest.approx(106.04, abs=0.01)
    assert on_white[0] == pytest.approx(-107.88, abs=0.01)


def test_the_rules_on_the_example_colour():
    colour = np.array([[0x22, 0x77, 0xD3]], dtype=np.uint8)
    assert get_rule("wcag").label(colour)[0] == 1  # the browser's answer: black
    assert get_rule("apca").label(colour)[0] == 0
    assert get_rule("readable").label(colour)[0] == 0


def test_readable_is_apca_where_both_pass_aa_and_wcag_elsewhere_on_every_colour():
    cube = cube_colours(0, 1 << 24)
    luminance = relative_luminance(cube)
    on_black = text_contrast(luminance, True)
    on_white = text_contrast(luminance, False)
    both_pass = (on_black >= 4.5) & (on_white >= 4.5)
    by_definition = np.where(
        both_pass, get_rule("apca").label(cube), get_rule("wcag").label(cube)
    ).astype(np.int8)
    assert np.array_equal(get_rule("readable").label(cube), by_definition)
    # It never loses AA where AA is possible, and picks white on every colour where both pass.
    chosen = np.where(by_definition == 1, on_black, on_white)
    assert chosen.min() >= 4.5
    assert both_pass.sum() > 250_000 and not by_definition[both_pass].any()


@pytest.mark.slow
def test_lc_and_decisions_match_colorjs():
    rgb, oracle = colorjs_oracle()
    assert len(rgb) >= 100_000
    on_black, on_white = apca.text_lc(rgb)
    assert np.abs(on_black - oracle[:, 0]).max() < 0.05
    assert np.abs(on_white - oracle[:, 1]).max() < 0.05
    # colorjs.io takes WCAG luminance through its XYZ matrix, not WCAG's rounded coefficients:
    # the same contrast to within 1e-3 (fontpipe follows WCAG 2 as the browser does).
    luminance = relative_luminance(rgb)
    assert np.abs(text_contrast(luminance, True) - oracle[:, 2]).max() < 1e-3
    assert np.abs(text_contrast(luminance, False) - oracle[:, 3]).max() < 1e-3

    gap = np.abs(oracle[:, 0]) - np.abs(oracle[:, 1])
    apca_oracle = gap > 0
    away = np.abs(gap) > 1e-6
    assert np.array_equal(get_rule("apca").label(rgb)[away].astype(bool), apca_oracle[away])

    both_pass = (oracle[:, 2] >= 4.5) & (oracle[:, 3] >= 4.5)
    readable_oracle = np.where(both_pass, apca_oracle, oracle[:, 2] > oracle[:, 3])
    # Away from the ties: white's contrast further than 0.01 from 4.5:1, and an Lc gap.
    away = (np.abs(oracle[:, 3] - 4.5) > 0.01) & (np.abs(gap) > 1e-6)
    assert away.sum() > 100_000
    assert np.array_equal(get_rule("readable").label(rgb)[away].astype(bool), readable_oracle[away])


@pytest.mark.slow
def test_the_bulk_float32_path_matches_the_exact_one_on_every_colour():
    cube = cube_colours(0, 1 << 24)
    fast_black, fast_white = apca.text_lc_float32(cube)
    exact_black, exact_white = apca.text_lc(cube)
    assert np.abs(fast_black - exact_black).max() < 0.01
    assert np.abs(fast_white - exact_white).max() < 0.01
    for edge in (apca.BODY_TEXT_LC, apca.LARGE_TEXT_LC, apca.MINIMUM_TEXT_LC):
        assert np.array_equal(np.abs(fast_black) >= edge, np.abs(exact_black) >= edge)
        assert np.array_equal(np.abs(fast_white) >= edge, np.abs(exact_white) >= edge)
