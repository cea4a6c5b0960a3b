"""Learning curves: held-out errors and far errors of each model family against the share of the
cube it trained on, with uniform and with boundary-weighted samples.

    python bench/learning_curve.py                      # the full grid (slow on a few cores)
    python bench/learning_curve.py --rules mean,wcag --families channel-tables --shares 0.001,0.01

Each point is one seeded run: a colour-disjoint train and validation sample (validation 1/8 of
train), one fit, and every other colour of the cube as the held-out set. The results go to
`--out` (default: learning-curve.json in the reports directory, where the evaluation report
finds them); a run of part of the grid keeps the other points already in that file. Timings are
printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_table

from fontpipe.color.rules import RULES
from fontpipe.errors import FontpipeError
from fontpipe.evaluation.learning_curve import (
    FAMILIES,
    LEARNING_CURVE_FILE,
    SAMPLINGS,
    SHARES,
    CurveGrid,
    CurvePoint,
    LearningCurve,
    data_needed,
    learning_curve,
    machine_description,
    merge_curves,
    read_learning_curve,
    write_learning_curve,
)
from fontpipe.settings import Settings

COLUMNS = [
    "rule",
    "family",
    "sampling",
    "share",
    "train colours",
    "held-out colours",
    "errors",
    "far errors",
    "AA lost",
    "seconds",
]


def _choices(text: str, allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [c for c in chosen if c not in allowed]
    if unknown or not chosen:
        raise SystemExit(f"unknown {what}: {', '.join(unknown) or '(none)'}; one of {allowed}")
    return chosen


def _row(point: CurvePoint) -> dict[str, object]:
    return {
        "rule": point.rule,
        "family": point.family,
        "sampling": point.sampling,
        "share": f"{100 * point.share:g} %" + (" (capped)" if point.epochs_capped else ""),
        "train colours": point.train_colours,
        "held-out colours": point.held_out_colours,
        "errors": point.errors,
        "far errors": point.far_errors,
        "AA lost": point.aa_lost,
        "seconds": round(point.fit_seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", default=",".join(RULES))
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--samplings", default=",".join(SAMPLINGS))
    parser.add_argument("--shares", default=",".join(f"{s:g}" for s in SHARES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="a TensorFlow device, e.g. /cpu:0")
    parser.add_argument(
        "--mlp-max-epochs",
        type=int,
        default=1,
        help="cap on the mlp's epochs at 50 %% of the cube: one epoch there is 16,384 batches, "
        "already more than the 6,000 the smaller samples get",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    shares = tuple(float(s) for s in args.shares.split(","))
    if any(not 0 < s <= 1 for s in shares):
        raise SystemExit("--shares: each share lies in (0, 1]")
    grid = CurveGrid(
        rules=_choices(args.rules, tuple(RULES), "rule"),
        families=tuple(f for f in FAMILIES if f in _choices(args.families, FAMILIES, "family")),
        samplings=tuple(
            s for s in SAMPLINGS if s in _choices(args.samplings, SAMPLINGS, "sampling")
        ),
        shares=shares,
        seed=args.seed,
        device=args.device,
        mlp_max_epochs=args.mlp_max_epochs,
    )
    out = args.out or Settings.from_env().reports_dir / LEARNING_CURVE_FILE

    earlier = None
    if out.exists():
        try:
            earlier = read_learning_curve(out)
        except FontpipeError as exc:
            print(f"replacing {out}: {exc}")
    done: list[CurvePoint] = []

    def record(point: CurvePoint) -> None:
        print(
            f"{point.rule} {point.family} {point.sampling} {100 * point.share:g} %: "
            f"{point.errors:,} errors ({point.far_errors:,} far) on "
            f"{point.held_out_colours:,} held-out colours, fit {point.fit_seconds:.1f} s "
            f"[{point.fit}]",
            flush=True,
        )
        # Written after every point: a long run stopped half-way keeps what it measured.
        done.append(point)
        so_far = LearningCurve(
            generated=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            machine=machine_description(),
            points=done,
        )
        write_learning_curve(so_far if earlier is None else merge_curves(earlier, so_far), out)

    fresh = learning_curve(grid, on_point=record)
    curve = fresh if earlier is None else merge_curves(earlier, fresh)
    write_learning_curve(curve, out)

    measured = [p for rule in grid.rules for p in fresh.for_rule(rule)]
    print_table(
        f"Held-out errors by training share ({fresh.machine}; {fresh.runs}; held-out colours: "
        "in neither train nor validation; seconds: the fit alone)",
        [_row(p) for p in measured],
        COLUMNS,
    )
    if any(p.epochs_capped for p in measured):
        print(
            f"(capped): the mlp ran at most {grid.mlp_max_epochs} epochs there, fewer than the "
            "sample size would get otherwise"
        )
    for rule in grid.rules:
        print(f"\n{rule}: how much data the decision needs (every point of it in {out})")
        for sentence in data_needed(curve.for_rule(rule)):
            print(f"  {sentence}")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
