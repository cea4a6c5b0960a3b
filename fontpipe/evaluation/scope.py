"""How reports and summaries name what a cube evaluation was measured on (its `scope`)."""

from __future__ import annotations

from fontpipe.evaluation.metrics import CubeEvaluation


def scope_phrases(cube: CubeEvaluation) -> dict[str, str]:
    """How the report names what its figures were measured on."""
    seen_text = ""
    if cube.scope == "held-out":
        scope_text = (
            f"the {cube.colours:,} colours of the cube this model never saw in training or "
            "validation (held-out)"
        )
        scope_column = "held-out"
        seen_text = (
            f"The {cube.seen_colours:,} colours it trained or validated on are left out; on "
            f"those it makes {cube.seen_errors or 0:,} errors, a training figure."
        )
    elif cube.scope == "training fit":
        scope_text = (
            f"all {cube.colours:,} colours of the cube, every one of which it trained on: a "
            "training fit, not a measure of how it does on colours it never saw"
        )
        scope_column = "training-fit"
    else:
        scope_text = (
            f"all {cube.colours:,} colours of the cube; the colours it trained on are unknown "
            "(its dataset is gone), so some of these it saw"
        )
        scope_column = "cube"
    return {
        "scope_text": scope_text,
        "scope_column": scope_column,
        "far_label": f"{cube.far_margin:g} {cube.margin_unit}",
        "seen_text": seen_text,
    }
