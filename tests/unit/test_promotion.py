from __future__ import annotations

from fontpipe.records import Headline
from fontpipe.registry.promotion import PromotionPolicy, decide_promotion


def head(errors, band=0.99, ece=0.01):
    return Headline(
        errors=errors,
        accuracy=1 - errors / 16_777_216,
        boundary_accuracy=band,
        ece=ece,
        aa_share=0.8,
        min_contrast=1.5,
    )


def test_first_model_is_promoted():
    assert decide_promotion(head(500), None, PromotionPolicy()).promote


def test_fewer_errors_win_and_more_errors_lose():
    policy = PromotionPolicy()
    assert decide_promotion(head(10), head(11), policy).promote
    decision = decide_promotion(head(12), head(11), policy)
    assert not decision.promote and "accuracy would drop" in decision.reason


def test_ties_are_broken_by_boundary_band_accuracy():
    policy = PromotionPolicy()
    assert decide_promotion(head(0, band=1.0), head(0, band=0.999), policy).promote
    assert not decide_promotion(head(0, band=0.999), head(0, band=0.999), policy).promote


def test_policy_is_configurable():
    assert decide_promotion(
        head(5, ece=0.001), head(5, ece=0.01), PromotionPolicy(tie_breaker="ece")
    ).promote
    assert not decide_promotion(
        head(5, band=1.0), head(5, band=0.5), PromotionPolicy(tie_breaker="none")
    ).promote
    assert not decide_promotion(
        head(95), head(100), PromotionPolicy(min_error_improvement=10)
    ).promote
    # Without the accuracy guard a tie-break could... still never pick more errors: errors come first.
    assert not decide_promotion(
        head(12, band=1.0), head(11), PromotionPolicy(never_drop_accuracy=False)
    ).promote


def test_a_challenger_that_reads_worse_is_never_promoted():
    champion = head(10)
    fewer_errors_less_readable = head(5).model_copy(update={"aa_share": 0.79})
    decision = decide_promotion(fewer_errors_less_readable, champion, PromotionPolicy())
    assert not decision.promote and "AA share would drop" in decision.reason
    lower_floor = head(5).model_copy(update={"min_contrast": 1.2})
    decision = decide_promotion(lower_floor, champion, PromotionPolicy())
    assert not decision.promote and "minimum contrast would drop" in decision.reason
    assert decide_promotion(
        lower_floor, champion, PromotionPolicy(never_drop_readability=False)
    ).promote
