"""The registry's record of every decision: each retrain round leaves an entry, promoted or not
(an identical twin included, under the id its command printed), with its report; `models
history` lists them, `models list` keeps version ids whole at 80 columns."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest
from typer.testing import CliRunner

from cli.app import app
from fontpipe.data.generation import GenerateConfig
from fontpipe.registry.champions import champion, promote, promotion_history
from fontpipe.registry.listing import history
from fontpipe.registry.promotion import PromotionPolicy
from fontpipe.registry.versions import list_versions, open_version, read_metadata
from fontpipe.settings import Settings
from fontpipe.steps.retrain import RetrainRunners, run_rule
from fontpipe.training.config import TrainConfig

pytestmark = pytest.mark.slow

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
runner = CliRunner()


def copy_version(source: Path, models: Path, name: str) -> Path:
    """`source` stored under another name, as training would have saved it."""
    shutil.copytree(source, models / name)
    meta = json.loads((models / name / "metadata.json").read_text())
    meta["version"] = name
    (models / name / "metadata.json").write_text(json.dumps(meta))
    return models / name


@pytest.fixture(scope="module")
def weaker_version(tmp_path_factory):
    """A version with other (worse) weights than the tiny one: one epoch on 2,000 colours."""
    from fontpipe.data.datasets import write_dataset
    from fontpipe.registry.versions import ensure_cube_table
    from fontpipe.training.inputs import InputConfig
    from fontpipe.training.train import train_version

    root = tmp_path_factory.mktemp("weaker")
    dataset, _ = write_dataset(GenerateConfig(rows=2_000, seed=2), root / "ds")
    version = train_version(
        dataset,
        TrainConfig(epochs=1, inputs=InputConfig(batch_size=64), device="cpu"),
        root / "models",
    )
    ensure_cube_table(version)
    return version.path


@pytest.fixture(scope="module")
def three_rounds(tiny_version, weaker_version, tmp_path_factory):
    """Three retrain rounds of the mean rule: promoted, not promoted, an identical twin."""
    root = tmp_path_factory.mktemp("history")
    settings = Settings(data_root=root)
    models = settings.models_dir
    models.mkdir(parents=True)
    trained = iter(
        [
            (tiny_version, "20260301-000000-aaaaaa"),
            (weaker_version, "20260302-000000-bbbbbb"),
            (tiny_version, "20260303-000000-cccccc"),  # the same weights as the first
        ]
    )

    def train(dataset: str, config: TrainConfig, models_dir: Path):
        source, name = next(trained)
        return open_version(copy_version(source, models_dir, name))

    dataset = read_metadata(tiny_version).dataset.path
    runners = RetrainRunners(
        make_dataset=lambda config, out: SimpleNamespace(path=Path(dataset)),  # type: ignore[arg-type,return-value]
        train=train,
    )
    outcomes = [
        run_rule(
            GenerateConfig(rows=2_000, rule="mean", seed=seed),
            TrainConfig(device="cpu"),
            PromotionPolicy(),
            None,
            settings,
            runners=runners,
        )
        for seed in (11, 12, 13)
    ]
    return models, outcomes


def test_every_round_leaves_its_decision_with_its_report(three_rounds):
    models, (first, second, twin) = three_rounds
    assert first.promoted and not second.promoted and not twin.promoted
    assert "identical to the champion" in twin.reason
    assert champion(models, "mean") == first.challenger
    assert twin.challenger not in list_versions(models)  # the twin was not stored
    # Each round wrote its challenger's report, beside the decision, promoted or not.
    for outcome in (first, second, twin):
        report = Path(outcome.report)
        assert report.parent.name == outcome.challenger and report.exists()
        assert outcome.reason.split(" (")[0] in report.read_text()

    entries = history(models)
    assert [(e.kind, e.version, e.promoted, e.stored) for e in entries] == [
        ("retrain", first.challenger, True, True),
        ("retrain", second.challenger, False, True),
        ("retrain", twin.challenger, False, False),
    ]
    for entry, outcome in zip(entries, (first, second, twin), strict=True):
        assert entry.reason == outcome.reason and entry.report == outcome.report
        assert entry.seed == outcome.seed and entry.dataset == outcome.dataset
        assert entry.version_metrics == outcome.challenger_metrics
        assert entry.champion_metrics == outcome.champion_metrics
    assert (
        entries[1].champion_metrics is not None and entries[1].previous_champion == first.challenger
    )
    assert entries[1].version_metrics.scope == "held-out"  # type: ignore[union-attr]


def test_history_merges_hand_promotions_and_reads_old_logs(three_rounds, tmp_path):
    models, (first, second, _) = three_rounds
    copy = tmp_path / "models"
    shutil.copytree(models, copy)
    promote(copy, second.challenger, "promoted by hand")
    entries = history(copy, "mean")
    assert [(e.kind, e.version) for e in entries][-1] == ("promotion", second.challenger)
    assert len(entries) == 4  # the promotion the first round made is told once, by the round
    assert history(copy, "wcag") == []
    # A registry from before decisions were recorded: its promotions are its history.
    (copy / "decisions.jsonl").unlink()
    assert [(e.kind, e.version) for e in history(copy)] == [
        ("promotion", first.challenger),
        ("promotion", second.challenger),
    ]
    assert [h["to"] for h in promotion_history(copy)] == [first.challenger, second.challenger]


def test_a_torn_or_damaged_decision_line_is_skipped(three_rounds, tmp_path):
    models, outcomes = three_rounds
    copy = tmp_path / "models"
    shutil.copytree(models, copy)
    log = copy / "decisions.jsonl"
    log.write_bytes(b"not json\n" + log.read_bytes() + b'{"rule": "mean", "chall')
    assert [e.version for e in history(copy)] == [o.challenger for o in outcomes]


def test_history_json_matches_its_schema_and_the_table_names_each_version(three_rounds):
    models, outcomes = three_rounds
    listed = runner.invoke(app, ["models", "history", "--json", "--models-dir", str(models)])
    assert listed.exit_code == 0, listed.output
    document = json.loads(listed.output)
    jsonschema.validate(document, json.loads((SCHEMAS / "models-history.json").read_text()))
    assert [d["version"] for d in document["decisions"]] == [o.challenger for o in outcomes]
    assert all(d["reason"] for d in document["decisions"])
    only = runner.invoke(
        app, ["models", "history", "--rule", "wcag", "--json", "--models-dir", str(models)]
    )
    assert json.loads(only.output)["decisions"] == []
    shown = runner.invoke(app, ["models", "history", "--models-dir", str(models)])
    assert shown.exit_code == 0, shown.output
    for outcome in outcomes:
        assert outcome.challenger in shown.output and outcome.report in shown.output
    assert "not promoted" in shown.output and "seed 12" in shown.output


def test_models_list_at_80_columns_keeps_whole_ids_and_explains_the_star(three_rounds):
    from rich.console import Console

    from cli.models import versions_table
    from fontpipe.registry.listing import version_summaries

    models, (first, second, _) = three_rounds
    rows = version_summaries(models)
    assert {(r.architecture, r.sampling) for r in rows} == {
        ("mlp", "boundary"),
        ("mlp", "uniform-int"),
    }
    terminal = Console(width=80, record=True)
    terminal.print(versions_table(rows, 80))
    text = terminal.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text
    for name in (first.challenger, second.challenger):
        assert name in text
    assert "★ the champion of its rule" in text
    assert "mlp" in text and "boundary" in text


def test_models_show_prints_a_table_and_json_only_when_asked(three_rounds):
    models, (first, *_) = three_rounds
    shown = runner.invoke(app, ["models", "show", first.challenger, "--models-dir", str(models)])
    assert shown.exit_code == 0, shown.output
    assert first.challenger in shown.output and "dataset.sampling" in shown.output
    with pytest.raises(json.JSONDecodeError):
        json.loads(shown.output)
    as_json = runner.invoke(
        app, ["models", "show", first.challenger, "--json", "--models-dir", str(models)]
    )
    assert json.loads(as_json.output)["version"] == first.challenger
