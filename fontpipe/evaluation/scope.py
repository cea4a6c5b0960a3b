"""How reports and summaries name what a cube evaluation was measured on (its `scope`)."""

from __future__ import annotations

from fontpipe.evaluation.metrics import CubeEvaluation


def scope_phrases(cube: CubeEvaluation) -> dict[str, str]:
    """How the report names what its figures were measured on."""
    far = f"{cube.far_margin:g} {cube.margin_unit}"
    if cube.scope == "held-out":
        return {
            "scope_text": f"the {cube.colours:,} colours of the cube this model never saw in "
            "training or validation (held-out)",
            "scope_column": "held-out",
            "far_label": far,
            "seen_text": f"The {cube.seen_colours:,} colours it trained or validated on are left "
            f"out; on those it makes {cube.seen_errors or 0:,} errors, a training figure.",
        }
    if cube.scope == "training fit":
        return {
            "scope_text": f"all {cube.colours:,} colours of the cube, every one of which it "
            "trained on: a training fit, not a measure of how it does on colours it never saw",
            "scope_column": "training-fit",
            "far_label": far,
            "seen_text": "",
        }
    return {
        "scope_text": f"all {cube.colours:,} colours of the cube; the colours it trained on are "
        "unknown (its dataset is gone), so some of these it saw",
        "scope_column": "cube",
        "far_label": far,
        "seen_text": "",
    }
