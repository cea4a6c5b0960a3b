from __future__ import annotations

from fontpipe.registry.versions import load_version
from fontpipe.training.config import TrainConfig
from fontpipe.training.inputs import InputConfig


def test_train_flow_generates_trains_and_publishes(prefect_harness, tmp_path, data_root):
    from prefect.artifacts import Artifact

    from flows.train import train_model_flow

    version = train_model_flow(
        generate={"rows": 5_000, "seed": 4, "out": str(tmp_path / "ds")},
        config=TrainConfig(epochs=1, inputs=InputConfig(batch_size=128)),
        models_dir=str(tmp_path / "models"),
    )
    loaded = load_version(tmp_path / "models" / version)
    assert loaded.version.metadata.epochs_run == 1 and loaded.model is not None
    history = Artifact.get("training-history")
    assert history is not None and "val_loss" in str(history.data)
    assert "Model" in str(Artifact.get("training-summary").data)
