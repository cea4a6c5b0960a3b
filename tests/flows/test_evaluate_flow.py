from __future__ import annotations

import json

import pytest

from fontpipe.data.datasets import write_dataset
from fontpipe.data.generation import GenerateConfig
from fontpipe.training.config import TrainConfig
from fontpipe.training.inputs import InputConfig
from fontpipe.training.recipes import Recipe
from fontpipe.training.train import train_version

pytestmark = pytest.mark.slow


def test_evaluate_flow_writes_report_and_artifacts(prefect_harness, tmp_path):
    from prefect.artifacts import Artifact

    from flows.evaluate import evaluate_model

    dataset, _ = write_dataset(GenerateConfig(rows=5_000, seed=1), tmp_path / "ds")
    result = train_version(
        dataset,
        TrainConfig(epochs=1, inputs=InputConfig(batch_size=128), device="cpu"),
        tmp_path / "models",
    )
    report = tmp_path / "reports" / "report.html"
    assessed = evaluate_model(
        model=str(result.path), report=str(report), recipe=Recipe(rows=1_000, steps=20)
    )
    assert report.exists()
    metrics = json.loads((report.parent / "metrics.json").read_text())
    assert metrics["version"] == result.name == assessed.metrics.version
    assert "Evaluation of" in str(Artifact.get("evaluation-summary").data)
    assert "|m| < 1.5" in str(Artifact.get("evaluation-bands").data)
