"""`score --rule apca` and `--rule readable` agree with an independent implementation (colorjs.io,
run in Node) on 300,000 colours, including those nearest each rule's tie: the same text colour
away from the ties, and APCA Lc within 0.05."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.unit.test_apca import colorjs_oracle

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("rule", ["apca", "readable"])
def test_scored_answers_and_lc_match_colorjs(rule, exact_model, tmp_path):
    rgb, oracle = colorjs_oracle()  # skips where colorjs.io is not installed
    source = tmp_path / "colours.parquet"
    pq.write_table(pa.table({c: rgb[:, i] for i, c in enumerate("rgb")}), source)
    out = tmp_path / "scored.parquet"
    fontpipe = Path(sys.executable).with_name("fontpipe")
    model = exact_model(rule).path
    done = subprocess.run(
        [str(fontpipe), "score", str(source), "--out", str(out), "--model", str(model)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    scored = pq.read_table(out)
    assert scored.num_rows == len(rgb) >= 100_000
    lc_black = scored.column("apca_lc_black").to_numpy()
    lc_white = scored.column("apca_lc_white").to_numpy()
    assert np.abs(lc_black - oracle[:, 0]).max() < 0.05
    assert np.abs(lc_white - oracle[:, 1]).max() < 0.05

    gap = np.abs(oracle[:, 0]) - np.abs(oracle[:, 1])
    apca_black = gap > 0
    if rule == "apca":
        expected, away = apca_black, np.abs(gap) >= 1.0  # away from the tie: |Lc| gap >= 1
    else:
        both_pass = (oracle[:, 2] >= 4.5) & (oracle[:, 3] >= 4.5)
        expected = np.where(both_pass, apca_black, oracle[:, 2] > oracle[:, 3])
        away = np.abs(oracle[:, 3] - 4.5) > 0.01  # away from the tie: white not within 0.01 of 4.5
    black = scored.column("text_color").to_numpy(zero_copy_only=False) == "black"
    assert away.sum() > 100_000
    wrong = np.flatnonzero(away & (black != expected))
    assert len(wrong) == 0, rgb[wrong[:10]].tolist()
    # Near the ties the model still answers as the rule does (it is exact on every colour).
    from fontpipe.color.rules import get_rule

    assert np.array_equal(black, get_rule(rule).label(rgb).astype(bool))
