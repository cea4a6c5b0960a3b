"""Value types that every stage shares, on the ground floor: they import nothing of fontpipe, so
no stage imports another stage for a record, and no import has to hide inside a function.

The records here are what crosses a stage boundary: the package version stamped on every
artefact, file checksums, what a model version records of its dataset and run, the trained model
before it is saved, and the headline figures that promotion compares.
"""

from __future__ import annotations

# importlib.metadata loads on first use: only a stamped artefact needs the version.
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict


@cache
def package_version() -> str:
    """The installed fontpipe's version, stamped on every dataset and model version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fontpipe")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+unknown"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class DatasetInfo(BaseModel):
    """What a model version records of the dataset it was trained on. `fontpipe.data.datasets`
    builds it (and extends it as `DatasetRef`); it lives here so that opening a version, as every
    quick look-up does, never loads Arrow."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    path: str
    fingerprint: str
    rule: str
    sampling: str
    rows: dict[str, int]


class TrainingRecord(BaseModel):
    """What training knows about its run; saving adds the version name, time and checksum."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    config: dict[str, Any]  # TrainConfig, as JSON
    dataset: DatasetInfo
    rule: str
    device: str
    replicas: int
    epochs_run: int
    train_seconds: float
    metrics: dict[str, dict[str, float | None]]  # split -> loss / accuracy
    versions: dict[str, str]  # library versions
    # How the fit was chosen (the model card): family, why, penalty and step the validation
    # split chose, and how many distinct colours it learned from. Empty for older versions.
    fit: dict[str, Any] = {}


@dataclass(frozen=True)
class TrainedModel:
    """A model that finished training, with what is known of its run; not saved yet."""

    model: Any  # a keras.Model; typed loosely so this module never imports Keras
    record: TrainingRecord
    history: list[dict[str, float]]
    # Multi-worker training: which worker made it (0, the chief, saves it) of how many.
    worker: int = 0
    workers: int = 1


class Headline(BaseModel):
    """The figures promotion compares and listings show."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # What the figures were measured on: "held-out" (colours the model never saw in training
    # or validation), "training fit" or "whole cube" (training colours unknown); and how many.
    # Older records lack them: they were measured on the whole cube.
    scope: str = "whole cube"
    colours: int | None = None
    far_errors: int | None = None  # errors far from the boundary (the rule's far_margin)
    aa_lost: int | None = None  # errors whose text misses 4.5:1 where the other reaches it
    accuracy: float
    errors: int
    boundary_accuracy: float | None
    ece: float
    aa_share: float
    min_contrast: float
