"""A champion per labelling rule: promotion, rollback and pruning per rule, and the migration of a
registry from before rules had champions of their own."""

from __future__ import annotations

import json
import shutil

from typer.testing import CliRunner

from cli.app import app
from fontpipe.registry.champions import (
    champion,
    champions,
    promote,
    promotion_history,
    resolve_model,
    rollback,
)
from fontpipe.registry.retention import RetentionPolicy, prune_versions
from fontpipe.registry.versions import list_versions

runner = CliRunner()


def make_versions(tiny_version, models, rules):
    """Copies of the tiny version, each labelled as trained on the given rule."""
    names = []
    for i, rule in enumerate(rules):
        name = f"2026030{i + 1}-000000-{rule[:2]}000{i}"
        shutil.copytree(tiny_version, models / name)
        meta = json.loads((models / name / "metadata.json").read_text())
        meta.update(version=name, rule=rule)
        meta["dataset"]["rule"] = rule
        (models / name / "metadata.json").write_text(json.dumps(meta))
        names.append(name)
    return names


def test_a_wcag_challenger_never_replaces_the_mean_champion(tiny_version, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    m1, w1, w2, m2 = make_versions(tiny_version, models, ["mean", "wcag", "wcag", "mean"])
    promote(models, m1)
    promote(models, w1)
    promote(models, w2)
    assert champions(models) == {"mean": m1, "wcag": w2}
    assert resolve_model("champion", models, "mean").name == m1
    assert resolve_model("champion", models, "wcag").name == w2
    promote(models, m2)
    rollback(models, "wcag")  # per rule: the mean champion is untouched
    assert champions(models) == {"mean": m2, "wcag": w1}
    rollback(models, "mean")
    assert champions(models) == {"mean": m1, "wcag": w1}
    assert (models / "champion-wcag").exists() and (models / "champion-mean").exists()


def test_pruning_keeps_every_rules_champion_and_rollback_target(tiny_version, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    names = make_versions(tiny_version, models, ["mean", "mean", "wcag", "wcag", "yiq", "mean"])
    m1, m2, w1, w2, y1, m3 = names
    for name in (m1, m2, w1, w2, y1):
        promote(models, name)
    plan = prune_versions(models, RetentionPolicy(keep_versions=0))
    assert set(plan.protected) == {m1, m2, w1, w2, y1}
    assert plan.removed == [m3]
    assert set(list_versions(models)) == {m1, m2, w1, w2, y1}


def test_an_old_single_champion_registry_migrates_without_losing_history(tiny_version, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    a, b, w = make_versions(tiny_version, models, ["mean", "mean", "wcag"])
    # As the previous release wrote it: one pointer, log entries without a rule.
    old_log = [
        {"at": "2026-01-01T00:00:00+00:00", "from": None, "to": a, "reason": "no champion yet"},
        {"at": "2026-01-02T00:00:00+00:00", "from": a, "to": b, "reason": "fewer cube errors"},
    ]
    (models / "promotions.jsonl").write_text("".join(json.dumps(e) + "\n" for e in old_log))
    (models / "champion").write_text(json.dumps({"version": b, "since": old_log[1]["at"]}))

    assert champion(models, "mean") == b and champion(models, "wcag") is None  # read as is
    promote(models, w)  # the first write migrates
    history = promotion_history(models)
    assert [(h["rule"], h["from"], h["to"]) for h in history] == [
        ("mean", None, a),
        ("mean", a, b),
        ("wcag", None, w),
    ]
    raw = (models / "promotions.jsonl").read_text().splitlines()
    assert all(json.loads(line)["rule"] for line in raw)  # the rules are written into the log
    assert not (models / "champion").exists()
    assert champions(models) == {"mean": b, "wcag": w}
    rollback(models, "mean")
    assert champion(models, "mean") == a


def test_models_list_marks_each_rules_champion(tiny_version, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    m1, w1 = make_versions(tiny_version, models, ["mean", "wcag"])
    promote(models, m1)
    promote(models, w1)
    listed = runner.invoke(app, ["models", "list", "--models-dir", str(models)])
    assert listed.exit_code == 0
    rows = [line for line in listed.output.splitlines() if m1 in line or w1 in line]
    assert len(rows) == 2 and all("★" in row for row in rows)
    assert any("wcag" in row for row in rows) and any("mean" in row for row in rows)
