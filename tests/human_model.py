"""A human-label model for report tests: people's answers for some colours, imported with
`fontpipe import-labels` and learned by a small MLP with the wcag rule as its prior."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from typer.testing import CliRunner

from cli.app import app
from fontpipe.data.datasets import open_dataset
from fontpipe.model import ModelConfig
from fontpipe.training.config import TrainConfig
from fontpipe.training.inputs import InputConfig
from fontpipe.training.train import train_version


def human_label_version(root: Path, rgb: np.ndarray, black: np.ndarray, dataset: Path) -> Any:
    """`rgb` labelled `black` (True: black text) as a CSV under `root`, imported into `dataset`,
    and the version a one-epoch MLP (prior wcag) learns from it, saved under `root / "models"`."""
    lines = ["color,text"] + [
        f"#{c[0]:02x}{c[1]:02x}{c[2]:02x},{'black' if b else 'white'}"
        for c, b in zip(rgb, black, strict=True)
    ]
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    done = CliRunner().invoke(
        app,
        ["import-labels", str(root / "labels.csv"), "--text-column", "text", "--out", str(dataset)],
    )
    assert done.exit_code == 0, done.output
    config = TrainConfig(
        model=ModelConfig(hidden=(8, 8)),
        inputs=InputConfig(batch_size=256),
        epochs=1,
        prior="wcag",
        prior_rows=5_000,
        device="cpu",
    )
    return train_version(open_dataset(dataset), config, root / "models")
