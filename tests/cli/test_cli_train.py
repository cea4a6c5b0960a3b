from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli.app import app
from fontpipe.data.datasets import write_dataset
from fontpipe.data.generation import GenerateConfig

runner = CliRunner()


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("ds") / "d"
    write_dataset(GenerateConfig(rows=6_000, seed=2), path)
    return path


def test_train_cli_saves_a_version_and_summarises(dataset_dir, tmp_path):
    models = tmp_path / "models"
    result = runner.invoke(
        app,
        [
            "train",
            "--dataset",
            str(dataset_dir),
            "--epochs",
            "1",
            "--models-dir",
            str(models),
            "--batch-size",
            "128",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "saved model version" in result.output and "test" in result.output
    assert len([p for p in models.iterdir() if not p.name.startswith(".")]) == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--hidden", "10,0,5"], "positive width"),
        (["--lr", "-0.1"], "learning_rate"),
        (["--epochs", "0"], "epochs"),
        (["--hidden", "ten"], "--hidden"),
        (["--schedule", "zigzag"], "--schedule"),
    ],
)
def test_invalid_config_exits_2_and_saves_nothing(dataset_dir, tmp_path, args, message):
    models = tmp_path / "models"
    result = runner.invoke(
        app, ["train", "--dataset", str(dataset_dir), "--models-dir", str(models), *args]
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not models.exists()


def test_missing_dataset_exits_2(tmp_path):
    result = runner.invoke(
        app, ["train", "--dataset", str(tmp_path / "nope"), "--models-dir", str(tmp_path / "m")]
    )
    assert result.exit_code == 2 and "no such dataset" in result.output
    assert not (tmp_path / "m").exists()


def _history(version_dir):
    lines = (version_dir / "history.csv").read_text().splitlines()
    header = lines[0].split(",")
    return [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]


def test_train_says_which_epoch_was_kept_and_json_carries_it(dataset_dir, tmp_path):
    """Early stopping restores the weights of the lowest validation loss: the summary and the
    JSON name that epoch, and the recorded train and val figures are that epoch's."""
    import json
    from pathlib import Path

    import jsonschema

    models = tmp_path / "models"
    args = ["train", "--dataset", str(dataset_dir), "--models-dir", str(models)]
    result = runner.invoke(app, [*args, "--epochs", "4", "--batch-size", "128", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    schema = Path(__file__).resolve().parents[2] / "schemas" / "train.json"
    jsonschema.validate(document, json.loads(schema.read_text()))
    history = _history(Path(document["path"]))
    val_losses = [float(row["val_loss"]) for row in history]
    best = val_losses.index(min(val_losses)) + 1
    assert document["kept"] == {"unit": "epoch", "kept": best, "of": len(history)}
    metadata = document["metadata"]
    assert metadata["fit"]["epoch"] == best and metadata["fit"]["family"] == "mlp"
    assert metadata["metrics"]["val"]["loss"] == pytest.approx(val_losses[best - 1])
    assert 0 < metadata["fit"]["train_colours"] <= 6_000

    table = runner.invoke(app, [*args, "--epochs", "2", "--batch-size", "256"])
    assert table.exit_code == 0, table.output
    assert "epoch " in table.output and " of 2 kept" in table.output


def test_a_table_fit_summary_names_its_newton_step(dataset_dir, tmp_path):
    import json

    models = tmp_path / "models"
    result = runner.invoke(
        app,
        [
            "train",
            "--dataset",
            str(dataset_dir),
            "--architecture",
            "channel-tables",
            "--models-dir",
            str(models),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    kept = document["kept"]
    assert kept["unit"] == "Newton step" and kept["kept"] == document["metadata"]["fit"]["step"]
    assert 1 <= kept["kept"] <= kept["of"] == document["metadata"]["epochs_run"]


def test_the_epoch_bar_never_reads_more_done_than_its_total():
    """Keras may run more steps than the estimate (a last partial batch, --prior's rows): the
    bar's total grows with them, and an epoch ends whole."""
    from cli.progress import training_progress

    progress, callback = training_progress(epochs=1, steps_per_epoch=3)
    callback.on_epoch_begin(0)
    (task,) = progress.tasks
    for batch in range(5):
        callback.on_train_batch_end(batch, {"loss": 0.5})
        assert task.completed <= task.total
    callback.on_epoch_end(0, {"loss": 0.4})
    assert task.completed == task.total == 5


def test_retrain_names_each_challengers_kept_step(tiny_dataset, tmp_path):
    """What `retrain` prints and puts in --json beside each rule: the Newton step its stored
    challenger kept; nothing for a challenger not stored (identical to its champion)."""
    import json
    from pathlib import Path

    import jsonschema

    from cli.pipeline import challengers_kept
    from fontpipe.model import ModelConfig
    from fontpipe.records import Headline
    from fontpipe.registry.promotion import RetrainOutcome, RetrainReport
    from fontpipe.training.config import TrainConfig
    from fontpipe.training.train import train_version

    models = tmp_path / "models"
    tables = TrainConfig(model=ModelConfig(architecture="channel-tables"), device="cpu")
    version = train_version(tiny_dataset, tables, models)
    headline = Headline(
        accuracy=1, errors=0, boundary_accuracy=1, ece=0, aa_share=1, min_contrast=4.58
    )

    def outcome(rule: str, challenger: str) -> RetrainOutcome:
        return RetrainOutcome(
            rule=rule,
            challenger=challenger,
            promoted=False,
            reason="test",
            previous_champion=None,
            champion=None,
            challenger_metrics=headline,
            champion_metrics=None,
            report="r.html",
            dataset="d",
        )

    report = RetrainReport(
        outcomes=[outcome("mean", version.name), outcome("wcag", "20990101-000000-notkept")]
    )
    kept = challengers_kept(report, models)
    step = version.metadata.fit["step"]
    assert kept == {
        "mean": f"Newton step {step} of {version.metadata.epochs_run} kept",
        "wcag": None,
    }
    schema = Path(__file__).resolve().parents[2] / "schemas" / "retrain.json"
    jsonschema.validate(
        {**report.model_dump(mode="json"), "kept": kept}, json.loads(schema.read_text())
    )
    # The printed line names the kept step, and the report's path stays last (scripts split on
    # "; report ").
    from fontpipe.registry.promotion import outcome_line

    line = outcome_line(report.outcomes[0], kept["mean"])
    assert f"challenger's weights: {kept['mean']}; report r.html" in line
    assert line.rsplit("; report ", 1)[1] == "r.html"
