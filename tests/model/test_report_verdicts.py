"""What the report says about decisions is what promotion decided, with its reason: the model
against the answer's recipe, and the champion section, which records its day and points to the
registry's history rather than claiming what is true after later promotions."""

from __future__ import annotations

import re
from html import unescape

import pytest

from fontpipe.evaluation.report import (
    champion_section,
    policy_text,
    recipe_verdict,
    write_comparison,
)
from fontpipe.records import Headline
from fontpipe.registry.promotion import ChampionComparison, PromotionPolicy, decide_promotion


def headline(**figures: float) -> Headline:
    values = {
        "scope": "held-out",
        "colours": 16_750_216,
        "far_errors": 0,
        "accuracy": 1.0,
        "errors": 0,
        "boundary_accuracy": 1.0,
        "ece": 0.0,
        "aa_share": 0.7883,
        "min_contrast": 1.30,
    }
    return Headline(**(values | figures))


# A model that follows the mean rule exactly, and a recipe whose 26,825 errors happen to choose
# the more readable text more often: the readability guard keeps the recipe ahead.
EXACT = headline()
RECIPE = headline(
    far_errors=20_000, accuracy=1 - 26_825 / 16_750_216, errors=26_825, aa_share=0.7924
)


def text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_zero_errors_held_back_by_a_guard_is_a_reasoned_note_not_a_red_failure():
    decision = decide_promotion(EXACT, RECIPE, PromotionPolicy())
    assert not decision.promote and "AA share" in decision.reason
    verdict = recipe_verdict(EXACT, RECIPE)
    assert verdict.tone == "note"
    assert "fewer errors than the answer's recipe (0 against 26,825)" in verdict.text
    assert decision.reason in verdict.text
    assert "NOT" not in verdict.text


@pytest.mark.parametrize(
    ("model", "recipe", "tone"),
    [
        (headline(errors=10, accuracy=1 - 10 / 16_750_216, aa_share=0.8), RECIPE, "good"),
        (EXACT, RECIPE, "note"),
        (RECIPE, EXACT, "bad"),
        (headline(errors=40_000, accuracy=0.99, far_errors=3), RECIPE, "bad"),
    ],
)
def test_the_verdict_follows_the_promotion_decision_and_gives_its_reason(model, recipe, tone):
    decision = decide_promotion(model, recipe, PromotionPolicy())
    verdict = recipe_verdict(model, recipe)
    assert verdict.tone == tone
    assert (verdict.tone == "good") == decision.promote
    assert decision.reason in verdict.text
    assert policy_text(PromotionPolicy()) in verdict.text


def test_the_policy_sentence_follows_the_policys_settings():
    default = policy_text(PromotionPolicy())
    assert "lower WCAG AA share or minimum contrast" in default
    assert "higher boundary-band accuracy" in default
    loose = policy_text(
        PromotionPolicy(never_drop_readability=False, tie_breaker="ece", min_error_improvement=5)
    )
    assert "AA share" not in loose and "lower ECE" in loose and "at least 5 fewer" in loose


def test_no_recipe_is_a_neutral_note():
    verdict = recipe_verdict(EXACT, None)
    assert verdict.tone == "note" and "optional" in verdict.text


def comparison(**fields: object) -> ChampionComparison:
    values: dict[str, object] = {
        "rule": "mean",
        "challenger": "20260301-000000-aaaaaa",
        "champion": None,
        "challenger_metrics": EXACT,
        "champion_metrics": None,
        "promote": True,
        "reason": "no champion yet",
        "acted": True,
    }
    return ChampionComparison(**(values | fields))  # type: ignore[arg-type]


WRITTEN = "2026-03-01T09:30:00+00:00"


def test_a_first_promotion_is_dated_and_points_to_the_history():
    said = text(champion_section(comparison(), "mean", WRITTEN))
    assert "Promoted as the first champion of the mean rule" in said
    assert "2026-03-01 09:30 UTC" in said
    assert "fontpipe models history --rule mean" in said
    assert "not updated by later promotions" in said
    # The reason is quoted as the decision read then, never as the state of the registry.
    assert "the decision read “no champion yet”" in said
    assert "has no champion" not in said


def test_an_evaluation_without_a_champion_says_so_of_its_own_time_only():
    evaluated = comparison(
        promote=True,
        acted=False,
        reason="the mean rule has no champion yet; a first model is promoted when it is sound",
    )
    said = text(champion_section(evaluated, "mean", WRITTEN))
    assert "When this report was written, the mean rule had no champion" in said
    assert "no champion yet" not in said
    assert "fontpipe models history --rule mean" in said
    held = text(
        champion_section(comparison(champion="20260301-000000-aaaaaa", acted=False), "mean")
    )
    assert "this model was the champion of the mean rule" in held


def test_the_history_command_quotes_a_family_name_for_the_shell():
    said = text(champion_section(None, "human:brand team", WRITTEN))
    assert "fontpipe models history --rule 'human:brand team'" in said
    assert "Not compared" in said


def test_a_decision_written_into_a_report_keeps_the_reports_date(tmp_path):
    report = tmp_path / "report.html"
    report.write_text(
        f'<html><body><section id="champion" data-written="{WRITTEN}">\n<!--champion-->\n'
        f"{champion_section(None, 'mean', WRITTEN)}\n<!--/champion-->\n</section></body></html>"
    )
    assert write_comparison(report, comparison())
    first = report.read_text()
    assert "2026-03-01 09:30 UTC" in text(first) and "first champion" in first
    assert write_comparison(report, comparison()) and report.read_text() == first
