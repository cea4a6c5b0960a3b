from __future__ import annotations

import html

import pytest

from fontpipe.data.generation import GenerateConfig
from fontpipe.registry.champions import champion, promote, promotion_history, rollback
from fontpipe.training.config import TrainConfig
from fontpipe.training.inputs import InputConfig

pytestmark = pytest.mark.slow

GOOD = {
    "generate": GenerateConfig(rows=40_000, sampling="boundary", seed=1),
    "train": TrainConfig(epochs=3, inputs=InputConfig(batch_size=256), device="cpu"),
    "baseline": False,
    "rules": ("mean",),
}
WORSE = {
    "generate": GenerateConfig(rows=1_000, seed=2),
    "train": TrainConfig(epochs=1, inputs=InputConfig(batch_size=64), device="cpu"),
    "baseline": False,
    "rules": ("mean",),
}


def test_retrain_promotes_then_refuses_a_worse_model_and_rollback_restores(
    prefect_harness, data_root
):
    from prefect.artifacts import Artifact

    from flows.retrain import retrain

    (first,) = retrain(**GOOD).outcomes
    models = data_root / "models"
    assert first.promoted and first.reason == "no champion yet"
    assert champion(models) == first.challenger
    assert (data_root / "reports" / first.challenger / "report.html").exists()
    assert "promoted" in str(Artifact.get("retrain-summary").data)

    (second,) = retrain(**WORSE).outcomes
    assert not second.promoted, second.reason
    assert second.challenger_metrics.errors > first.challenger_metrics.errors
    assert champion(models) == first.challenger
    # The challenger's report shows the champion beside it, with the decision and its reason.
    section = (data_root / "reports" / second.challenger / "report.html").read_text()
    section = section.split("<!--champion-->")[1].split("<!--/champion-->")[0]
    assert first.challenger in section and second.challenger in section
    assert "Not promoted: " + html.escape(second.reason, quote=False) in section

    promote(models, second.challenger, "to test rollback")
    rollback(models)
    assert champion(models) == first.challenger
    assert [h["to"] for h in promotion_history(models)] == [
        first.challenger,
        second.challenger,
        first.challenger,
    ]


def test_an_identical_challenger_is_not_stored_twice_and_retention_prunes(
    prefect_harness, data_root
):
    from prefect.artifacts import Artifact

    from flows.retrain import retrain
    from fontpipe.registry.retention import RetentionPolicy
    from fontpipe.registry.versions import list_versions

    same = {
        "generate": GenerateConfig(rows=20_000, sampling="boundary", seed=3),
        # Op determinism: the same seed and data give bit-identical weights.
        "train": TrainConfig(
            epochs=1, inputs=InputConfig(batch_size=256), device="cpu", deterministic=True
        ),
        "baseline": False,
        "retention": RetentionPolicy(keep_versions=0),
        "rules": ("mean",),
    }
    (first,) = retrain(**same).outcomes
    (second,) = retrain(**same).outcomes
    models = data_root / "models"
    assert first.promoted and not second.promoted
    assert "identical to the champion" in second.reason
    assert list_versions(models) == [first.challenger]  # the twin was not kept
    assert champion(models) == first.challenger
    assert Artifact.get("training-history") is not None  # the retrain flow publishes it too
    assert "|m| <" in str(Artifact.get("evaluation-bands").data)
    assert "Written to" in str(Artifact.get("evaluation-report").data)


def test_each_rule_has_its_own_champion(prefect_harness, data_root):
    """A wcag challenger is compared with the wcag champion, never with the mean one, and the
    retrain flow keeps one champion per rule."""
    from flows.retrain import retrain
    from fontpipe.registry.champions import champions

    tiny = {
        "generate": GenerateConfig(rows=8_000, sampling="boundary", seed=4),
        "train": TrainConfig(epochs=1, inputs=InputConfig(batch_size=256), device="cpu"),
        "baseline": False,
    }
    report = retrain(**tiny, rules=("mean", "wcag"))
    models = data_root / "models"
    assert [o.rule for o in report.outcomes] == ["mean", "wcag"]
    assert all(o.promoted and o.reason == "no champion yet" for o in report.outcomes)
    assert champions(models) == {o.rule: o.challenger for o in report.outcomes}
    # A second wcag round is measured against the wcag champion only.
    (again,) = retrain(**tiny, rules=("wcag",)).outcomes
    assert again.previous_champion == report.for_rule("wcag").challenger
    assert champion(models, "mean") == report.for_rule("mean").challenger
