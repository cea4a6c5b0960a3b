from __future__ import annotations

import contextlib
import itertools
import json
import multiprocessing
import shutil

import pytest
from typer.testing import CliRunner

from cli.app import app
from fontpipe.errors import FontpipeError
from fontpipe.registry.champions import (
    champion,
    promote,
    promotion_history,
    resolve_model,
    rollback,
)
from fontpipe.registry.versions import list_versions

runner = CliRunner()


@pytest.fixture
def registry(tiny_version, tmp_path):
    """Three copies of a real version under distinct names."""
    models = tmp_path / "models"
    models.mkdir()
    names = []
    for i in range(3):
        name = f"2026010{i + 1}-000000-00000{i}"
        shutil.copytree(tiny_version, models / name)
        meta = json.loads((models / name / "metadata.json").read_text())
        meta["version"] = name
        (models / name / "metadata.json").write_text(json.dumps(meta))
        names.append(name)
    return models, names


def test_promote_rollback_and_history(registry):
    models, (a, b, c) = registry
    assert champion(models) is None
    with pytest.raises(FontpipeError, match="no champion"):
        resolve_model("champion", models)
    promote(models, a)
    promote(models, b)
    promote(models, c)
    assert champion(models) == c and resolve_model("champion", models) == models / c
    rollback(models)
    assert champion(models) == b
    history = promotion_history(models)
    assert [(h["from"], h["to"]) for h in history] == [(None, a), (a, b), (b, c), (c, b)]
    assert all(h["at"] and h["reason"] for h in history)
    assert list_versions(models) == [a, b, c]


def test_promoting_a_tampered_or_missing_model_leaves_the_champion(registry):
    models, (a, b, _) = registry
    promote(models, a)
    pointer = (models / "champion-mean").read_bytes()
    with (models / b / "model.keras").open("ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(FontpipeError, match="checksum mismatch"):
        promote(models, b)
    with pytest.raises(FontpipeError, match="does not exist"):
        promote(models, "20990101-000000-ffffff")
    assert (models / "champion-mean").read_bytes() == pointer
    assert len(promotion_history(models)) == 1


def _promote_many(models, version, rounds):
    from fontpipe.registry.champions import promote as promote_version

    for _ in range(rounds):
        with contextlib.suppress(FontpipeError):  # already the champion
            promote_version(models, version)


def test_concurrent_promotions_keep_the_registry_consistent(registry):
    models, (a, b, _) = registry
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_promote_many, args=(models, v, 15)) for v in (a, b)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    history = promotion_history(models)
    assert history, "somebody was promoted"
    # An unbroken chain: each promotion starts from the champion the previous one left.
    for before, after in itertools.pairwise(history):
        assert after["from"] == before["to"]
    assert champion(models) == history[-1]["to"]
    assert json.loads((models / "champion-mean").read_text())["version"] in (a, b)


def test_models_cli(registry):
    models, (a, b, _) = registry
    assert runner.invoke(app, ["models", "promote", a, "--models-dir", str(models)]).exit_code == 0
    assert runner.invoke(app, ["models", "promote", b, "--models-dir", str(models)]).exit_code == 0
    listed = runner.invoke(app, ["models", "list", "--models-dir", str(models)])
    assert listed.exit_code == 0 and "★" in listed.output
    shown = runner.invoke(
        app,
        ["models", "show", "champion", "--rule", "mean", "--models-dir", str(models), "--json"],
    )
    assert shown.exit_code == 0 and b in shown.output and '"is_champion": true' in shown.output
    back = runner.invoke(app, ["models", "rollback", "--models-dir", str(models)])
    assert back.exit_code == 0 and champion(models) == a
    missing = runner.invoke(app, ["models", "promote", "nope", "--models-dir", str(models)])
    assert missing.exit_code == 2 and "not found" in missing.output
    assert champion(models) == a


def test_prune_never_touches_the_champion_or_the_rollback_target(registry, tmp_path):
    from fontpipe.registry.champions import rollback_target
    from fontpipe.registry.retention import RetentionPolicy, prune_versions

    models, (a, b, _) = registry
    for i in range(3):  # three more, newer versions that nobody promoted
        name = f"2026020{i + 1}-000000-00000{i}"
        shutil.copytree(models / a, models / name)
        meta = json.loads((models / name / "metadata.json").read_text())
        meta["version"] = name
        (models / name / "metadata.json").write_text(json.dumps(meta))
    promote(models, a)
    promote(models, b)  # champion b, rollback target a
    assert rollback_target(models) == a
    before = list_versions(models)

    dry = prune_versions(models, RetentionPolicy(keep_versions=0), dry_run=True)
    assert list_versions(models) == before  # a dry run deletes nothing
    assert set(dry.protected) == {a, b} and set(dry.removed) == set(before) - {a, b}

    plan = prune_versions(models, RetentionPolicy(keep_versions=1, drop_cube_tables=True))
    assert plan.kept == ["20260203-000000-000002"]  # the newest other version
    assert set(list_versions(models)) == {a, b, "20260203-000000-000002"}
    assert not (models / plan.kept[0] / "cube.npy").exists()  # dropped, rebuilt on demand
    assert (models / b / "cube.npy").exists() and (models / a / "cube.npy").exists()
    assert champion(models) == b
    rollback(models)
    assert champion(models) == a


def _prune_many(models, rounds):
    from fontpipe.registry.retention import RetentionPolicy, prune_versions

    for _ in range(rounds):
        prune_versions(models, RetentionPolicy(keep_versions=0))


def test_concurrent_prune_and_promote_never_lose_the_champion(registry):
    models, (a, b, c) = registry
    promote(models, a)
    context = multiprocessing.get_context("spawn")
    promoter = context.Process(target=_promote_many, args=(models, b, 10))
    pruner = context.Process(target=_prune_many, args=(models, 10))
    for worker in (promoter, pruner):
        worker.start()
    for worker in (promoter, pruner):
        worker.join(120)
        assert worker.exitcode == 0
    # Whatever the interleaving: the champion and its rollback target still exist, whole.
    current = champion(models)
    assert current in list_versions(models)
    for entry in promotion_history(models):
        if entry["to"] == current and entry["from"]:
            assert entry["from"] in list_versions(models)
    assert c not in list_versions(models)  # never promoted: pruned


def test_models_prune_cli(registry):
    models, (a, b, _) = registry
    promote(models, a)
    dry = runner.invoke(
        app, ["models", "prune", "--keep", "0", "--dry-run", "--models-dir", str(models)]
    )
    assert dry.exit_code == 0 and "would delete" in dry.output and b in dry.output
    assert len(list_versions(models)) == 3
    done = runner.invoke(app, ["models", "prune", "--keep", "0", "--models-dir", str(models)])
    assert done.exit_code == 0, done.output
    assert list_versions(models) == [a] and "champion" in done.output


def test_models_list_shows_where_rollback_would_go(registry):
    """The listing marks each rule's rollback target and says in a line where `models rollback`
    goes; as it walks back, so does the mark, until no earlier champion is left."""
    models, (a, b, c) = registry
    for name in (a, b, c):
        promote(models, name)

    def listed() -> dict:
        result = runner.invoke(app, ["models", "list", "--json", "--models-dir", str(models)])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    document = listed()
    assert document["rollback_targets"] == {"mean": b}
    assert [v["version"] for v in document["versions"] if v["rollback_target"]] == [b]
    text = runner.invoke(app, ["models", "list", "--models-dir", str(models)]).output
    (marked,) = [line for line in text.splitlines() if "↩" in line and b in line]
    assert c not in marked
    assert f"models rollback --rule mean: {b} becomes champion again" in text
    assert "↩ the rollback target of its rule" in text
    rollback(models, "mean")
    assert listed()["rollback_targets"] == {"mean": a}
    rollback(models, "mean")
    assert champion(models, "mean") == a
    document = listed()
    assert document["rollback_targets"] == {"mean": None}
    assert not any(v["rollback_target"] for v in document["versions"])
    text = runner.invoke(app, ["models", "list", "--models-dir", str(models)]).output
    assert "models rollback --rule mean: no earlier champion to go back to" in text
    assert "↩" not in text


def test_promoting_a_version_never_evaluated_evaluates_it_first(registry):
    models, (a, b, _) = registry
    for name in (a, b):
        (models / name / "evaluation.json").unlink(missing_ok=True)
    refused = runner.invoke(
        app, ["models", "promote", a, "--no-evaluate", "--models-dir", str(models)]
    )
    assert refused.exit_code == 2
    assert refused.output.count("\n") == 1
    assert "never evaluated" in refused.output and "fontpipe evaluate --model" in refused.output
    assert champion(models, "mean") is None and not (models / a / "evaluation.json").exists()

    promoted = runner.invoke(app, ["models", "promote", a, "--models-dir", str(models)])
    assert promoted.exit_code == 0, promoted.output
    assert "never evaluated; evaluated first" in promoted.output
    assert champion(models, "mean") == a
    evaluation = json.loads((models / a / "evaluation.json").read_text())
    (entry,) = promotion_history(models)
    assert entry["metrics"]["errors"] == evaluation["errors"]
    assert entry["metrics"]["scope"] == "held-out"

    # Evaluated once, it is not evaluated again: its recorded figures go with the promotion.
    shutil.copy(models / a / "evaluation.json", models / b / "evaluation.json")
    again = runner.invoke(
        app, ["models", "promote", b, "--no-evaluate", "--models-dir", str(models)]
    )
    assert again.exit_code == 0, again.output
    assert "evaluated first" not in again.output and champion(models, "mean") == b
    assert promotion_history(models)[-1]["metrics"] == entry["metrics"]
