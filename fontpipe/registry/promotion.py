"""Champion/challenger: the one definition of 'better', explicit and configurable."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from fontpipe.records import Headline


class PromotionPolicy(BaseModel):
    """Default: fewer cube errors wins; equal errors are broken by higher boundary-band accuracy;
    a challenger whose cube accuracy is lower than the champion's is never promoted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tie_breaker: Literal["boundary_accuracy", "ece", "none"] = "boundary_accuracy"
    never_drop_accuracy: bool = True
    # Readability guard: never promote a challenger whose WCAG AA share or minimum contrast over
    # the cube is below the champion's, whatever its error count against the rule.
    never_drop_readability: bool = True
    # Errors the challenger must save over the champion to win outright (1: any improvement).
    min_error_improvement: int = 1


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def decide_promotion(
    challenger: Headline, champion: Headline | None, policy: PromotionPolicy
) -> Decision:
    """Is `challenger` better than `champion`? Both headlines are against the same rule.

    Used for promotion and for every other 'better than' the project states (a model against
    the original recipe in the report), so the word means one thing everywhere.
    """
    figures = challenger.model_dump().values()
    if not all(math.isfinite(v) for v in figures if isinstance(v, int | float)):
        return Decision(False, "the challenger's metrics are NaN or infinite")
    if champion is None:
        return Decision(True, "no champion yet")
    if (challenger.scope == "held-out") != (champion.scope == "held-out"):
        return _across_scopes(challenger, champion)
    if (challenger.far_errors or 0) > (champion.far_errors or 0):
        return Decision(
            False,
            f"more errors far from the boundary ({challenger.far_errors:,} > "
            f"{champion.far_errors or 0:,})",
        )
    c_err, k_err = challenger.errors, champion.errors
    kind = "held-out" if challenger.scope == "held-out" else "cube"
    if policy.never_drop_accuracy and challenger.accuracy < champion.accuracy:
        return Decision(
            False,
            f"{kind} accuracy would drop ({challenger.accuracy:.6%} < {champion.accuracy:.6%})",
        )
    if policy.never_drop_readability:
        if challenger.aa_share < champion.aa_share:
            return Decision(
                False,
                f"WCAG AA share would drop ({challenger.aa_share:.4%} < {champion.aa_share:.4%})",
            )
        if challenger.min_contrast < champion.min_contrast:
            return Decision(
                False,
                f"minimum contrast would drop ({challenger.min_contrast:.3f}:1 < "
                f"{champion.min_contrast:.3f}:1)",
            )
    if k_err - c_err >= policy.min_error_improvement:
        return Decision(True, f"fewer {kind} errors ({c_err:,} < {k_err:,})")
    if c_err != k_err:
        return Decision(False, f"not enough fewer {kind} errors ({c_err:,} vs {k_err:,})")
    if policy.tie_breaker == "boundary_accuracy":
        c_band, k_band = challenger.boundary_accuracy or 0.0, champion.boundary_accuracy or 0.0
        if c_band > k_band:
            return Decision(
                True,
                f"same {kind} errors ({c_err:,}), higher boundary-band accuracy ({c_band:.6%} > {k_band:.6%})",
            )
        return Decision(
            False,
            f"same {kind} errors ({c_err:,}), boundary-band accuracy not higher ({c_band:.6%} vs {k_band:.6%})",
        )
    if policy.tie_breaker == "ece":
        if challenger.ece < champion.ece:
            return Decision(
                True,
                f"same {kind} errors ({c_err:,}), lower ECE ({challenger.ece:.5f} < {champion.ece:.5f})",
            )
        return Decision(False, f"same {kind} errors ({c_err:,}), ECE not lower")
    return Decision(False, f"same {kind} errors ({c_err:,}) and no tie-breaker")


def _across_scopes(challenger: Headline, champion: Headline) -> Decision:
    """One side measured on colours it never saw, the other on colours it trained on (or on
    the whole cube): their error counts do not compare. Held-out figures win, unless they hold
    an error far from the boundary."""
    if challenger.scope != "held-out":
        return Decision(
            False,
            f"the challenger's figures are a {challenger.scope} measure and the champion's are "
            "held-out: they do not compare",
        )
    if challenger.far_errors:
        return Decision(
            False,
            f"the champion's figures are a {champion.scope} measure, and the challenger makes "
            f"{challenger.far_errors:,} errors far from the boundary on colours it never saw",
        )
    return Decision(
        True,
        f"the champion's figures are a {champion.scope} measure; the challenger's "
        f"{challenger.errors:,} errors are on {challenger.colours or 0:,} colours it never saw, "
        "none far from the boundary",
    )


class ChampionComparison(BaseModel):
    """A model beside its rule's champion, as the report shows it: the figures promotion
    compared and what it decided. `acted` is False where nothing was promoted (an evaluation
    only compares)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str
    challenger: str
    champion: str | None
    challenger_metrics: Headline
    champion_metrics: Headline | None
    promote: bool
    reason: str
    acted: bool


class RetrainOutcome(BaseModel):
    """One rule's champion/challenger round of the retrain pipeline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str
    challenger: str
    promoted: bool
    reason: str
    previous_champion: str | None
    champion: str | None
    challenger_metrics: Headline
    champion_metrics: Headline | None  # the champion before, on the challenger's terms
    report: str
    dataset: str
    seed: int | None = None  # the seed its dataset was drawn from


class RetrainReport(BaseModel):
    """The retrain pipeline's result: one round per rule."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcomes: list[RetrainOutcome]

    def for_rule(self, rule: str) -> RetrainOutcome:
        return next(o for o in self.outcomes if o.rule == rule)


def error_figures(h: Headline) -> str:
    """A headline's errors, saying what they were measured on."""
    if h.scope == "held-out":
        far = "" if h.far_errors is None else f", {h.far_errors:,} far from the boundary"
        return f"{h.errors:,} errors on {h.colours or 0:,} colours it never saw{far}"
    if h.scope == "training fit":
        return f"{h.errors:,} errors over the cube it trained on (a training fit)"
    return f"{h.errors:,} errors over the whole cube (its training colours unknown)"


def _learned_from(outcome: RetrainOutcome) -> str:
    return "" if outcome.seed is None else f"; data seed {outcome.seed}"


def outcome_line(outcome: RetrainOutcome, kept: str | None = None) -> str:
    """One line per rule: the verdict and the figures a reader checks first; `kept` says which
    weights the challenger kept (a Newton step or an epoch). The report's path comes last."""
    h = outcome.challenger_metrics
    figures = (
        f"{error_figures(h)}, AA share {h.aa_share:.2%}, minimum contrast {h.min_contrast:.2f}:1"
    )
    made = _learned_from(outcome) + (f"; challenger's weights: {kept}" if kept else "")
    if outcome.promoted:
        return (
            f"{outcome.rule}: promoted; champion {outcome.champion}: {figures} "
            f"({outcome.reason}){made}; report {outcome.report}"
        )
    return (
        f"{outcome.rule}: kept the champion {outcome.champion} ({outcome.reason}); challenger "
        f"{outcome.challenger}: {figures}{made}; report {outcome.report}"
    )
