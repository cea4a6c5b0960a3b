"""One Keras fit with resumable backups, early stopping on the validation split, a per-epoch
record, and a refusal of a diverged run; and the `TrainingRecord` a finished run leaves.
"""

from __future__ import annotations

# TensorFlow and Keras load on first use: they cost seconds at start-up (python -X importtime), and a look-up never needs them.
import math
import platform
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fontpipe.color.cube import cube_index
from fontpipe.data.datasets import Dataset, read_file_arrays
from fontpipe.errors import FontpipeError
from fontpipe.records import TrainingRecord, package_version
from fontpipe.schema import CUBE_SIZE, Split
from fontpipe.training.checkpoints import resumable_backup
from fontpipe.training.config import TrainConfig
from fontpipe.training.devices import DevicePlan

if TYPE_CHECKING:
    import keras


MLP_WHY = (
    "the question's own network (--architecture mlp): it can learn a region where human labels "
    "depart from a rule, with the rule's colours mixed in (--prior)"
)


@dataclass(frozen=True)
class KerasFit:
    """What one Keras fit left: its per-epoch record, its wall time, and which epoch's weights the
    model holds (early stopping restores those of the lowest validation loss)."""

    history: list[dict[str, float]]
    seconds: float
    kept_epoch: int  # 1-based, as history's "epoch"


def fit_model(
    model: keras.Model,
    train_data: Any,
    val_data: Any,
    config: TrainConfig,
    *,
    backup_dir: Path | None,
    callbacks: Sequence[keras.callbacks.Callback],
    steps_per_epoch: int | None = None,
    validation: keras.callbacks.Callback | None = None,
) -> KerasFit:
    """Run Keras' fit with backups, early stopping and a per-epoch record; returns the record, the
    wall time and the epoch whose weights were kept.

    `val_data` is validated by Keras after each epoch; or, with `val_data` None, `validation` is a
    callback that adds val_loss and val_accuracy to each epoch's logs itself (it runs first, so
    the record and early stopping see them).
    """
    import keras

    history_rows: list[dict[str, float]] = []
    early_stopping = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=config.early_stopping_patience, restore_best_weights=True
    )
    # The recorder comes first: each epoch's row is in the checkpoint the backup then commits.
    backup = resumable_backup(backup_dir, history_rows) if backup_dir is not None else None
    started = time.perf_counter()
    # steps_per_epoch only for an endless (repeated) dataset, as multi-worker training passes:
    # with it Keras keeps one iterator across epochs, and a finite one-epoch dataset would be
    # exhausted after the first.
    model.fit(
        train_data,
        epochs=config.epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=val_data,
        verbose=0,
        callbacks=[
            *([validation] if validation is not None else []),
            history_recorder(history_rows),
            *([backup] if backup is not None else []),
            # Stops at the first non-finite batch loss; checked below, so a diverged run raises
            # instead of saving a model that answers NaN.
            keras.callbacks.TerminateOnNaN(),
            early_stopping,
            *callbacks,
        ],
    )
    # A resumed run reports the whole run: its epochs and seconds before the interruption too.
    train_seconds = backup.total_seconds() if backup is not None else time.perf_counter() - started
    diverged = [row for row in history_rows if not math.isfinite(row.get("loss", math.nan))]
    if diverged or weights_not_finite(model):
        if backup_dir is not None:
            shutil.rmtree(backup_dir, ignore_errors=True)  # never resume from a diverged state
        where = f" in epoch {int(diverged[0]['epoch'])}" if diverged else ""
        raise FontpipeError(
            f"training diverged: the loss became NaN or infinite{where}; nothing was saved. "
            "Lower --lr (or check the data) and run again"
        )
    return KerasFit(history_rows, train_seconds, kept_epoch(early_stopping, history_rows))


def kept_epoch(early_stopping: Any, history: list[dict[str, float]]) -> int:
    """The 1-based epoch whose weights Keras' EarlyStopping restored at the end of training (its
    epochs count from the start of the whole run, a resumed one too, as `initial_epoch` is set);
    the last epoch when it restored none (no validation loss was seen)."""
    if early_stopping.best_weights is None:
        return len(history)
    return int(early_stopping.best_epoch) + 1


def weights_not_finite(model: keras.Model) -> bool:
    return not all(np.isfinite(w).all() for w in model.get_weights())


def training_record(
    dataset: Dataset,
    config: TrainConfig,
    plan: DevicePlan,
    history_rows: list[dict[str, float]],
    train_seconds: float,
    test_metrics: dict[str, Any],
    kept: int | None = None,
) -> TrainingRecord:
    """The record of a run; with `kept` (a Keras fit's kept epoch), its train and val figures are
    that epoch's, whose weights are saved, and `fit` says which epoch it was."""
    import keras
    import tensorflow as tf

    last = history_rows[kept - 1] if kept else history_rows[-1] if history_rows else {}
    return TrainingRecord(
        config=config.model_dump(mode="json"),
        dataset=dataset.info(),
        rule=dataset.rule,
        device=plan.description,
        replicas=plan.replicas,
        epochs_run=len(history_rows),
        train_seconds=round(train_seconds, 3),
        metrics={
            "train": {"loss": last.get("loss"), "accuracy": last.get("accuracy")},
            "val": {"loss": last.get("val_loss"), "accuracy": last.get("val_accuracy")},
            "test": {k: float(v) for k, v in test_metrics.items()},
        },
        versions={
            "fontpipe": package_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "python": platform.python_version(),
        },
        fit={} if kept is None else mlp_fit(dataset, config, kept, len(history_rows)),
    )


def mlp_fit(dataset: Dataset, config: TrainConfig, kept: int, epochs_run: int) -> dict[str, Any]:
    """The model card's `fit` for an mlp: the epoch kept and why, as a table fit records its
    Newton step."""
    prior = (
        f", with {config.prior_rows:,} colours of the {config.prior} rule mixed in "
        f"({config.prior_weight:.0%} of the signal)"
        if config.prior
        else ""
    )
    return {
        "family": "mlp",
        "why": MLP_WHY,
        "chosen": f"Adam ({config.schedule} schedule from {config.learning_rate:g}){prior}; "
        f"epoch {kept} of {epochs_run} kept, the lowest validation loss (early stopping "
        "restores its weights)",
        "epoch": kept,
        "epochs_run": epochs_run,
        "train_colours": distinct_colours(dataset, "train"),
    }


def distinct_colours(dataset: Dataset, split: Split) -> int:
    """Distinct colours of the 24-bit cube in a split (a float colour counts as the cube colour
    it rounds to), read a file at a time."""
    seen = np.zeros(CUBE_SIZE, dtype=bool)
    for path in dataset.split_files(split):
        rgb, _ = read_file_arrays([path])
        seen[cube_index(np.clip(np.rint(rgb), 0, 255).astype(np.uint8))] = True
    return int(np.count_nonzero(seen))


def history_recorder(rows: list[dict[str, float]]) -> keras.callbacks.Callback:
    """Collects per-epoch logs as plain floats (Keras' History is tied to one fit call)."""
    import keras

    class Recorder(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            row = {"epoch": float(epoch + 1), **{k: float(v) for k, v in (logs or {}).items()}}
            optimizer = self.model.optimizer
            row["learning_rate"] = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
            rows.append(row)

    return Recorder()
