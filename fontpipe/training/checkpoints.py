"""Resumable training checkpoints: the one owner of what a checkpoint directory holds.

    <checkpoint dir>/checkpoint.json          epoch, weights file, its checksum, history, seconds
    <checkpoint dir>/epoch-0003.weights.h5    model and optimizer state after that epoch

Every file is written beside its name and renamed into place, and `checkpoint.json` is written
last: it is the commit. A checkpoint that cannot be read (a file cut short by a full disk or a
kill, a checksum that does not match, a directory in another format) is set aside under a new
name with a one-line warning, and training starts fresh, so one bad file never blocks later runs.
(Keras' own BackupAndRestore writes in place, and a 0-byte file it left stopped every later run
of the same config.)
"""

from __future__ import annotations

# TensorFlow and Keras load on first use: they cost seconds at start-up (python -X importtime), and a look-up never needs them.
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fontpipe.atomic import disk_full_error, is_disk_full, staging_path, write_json_atomic
from fontpipe.records import sha256_file

if TYPE_CHECKING:
    import keras

logger = logging.getLogger("fontpipe")

RECORD_FILE = "checkpoint.json"
FORMAT = "fontpipe-checkpoint/1"


@dataclass(frozen=True)
class Checkpoint:
    epoch: int  # epochs finished
    weights: Path
    history: list[dict[str, float]]
    train_seconds: float


def _sha256(path: Path) -> str:

    return sha256_file(path)


def read_checkpoint(directory: Path) -> Checkpoint | None:
    """The committed checkpoint in `directory`, None when there is none or it cannot be trusted
    (that one is set aside first)."""
    if not directory.exists():
        return None
    record_path = directory / RECORD_FILE
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        if record.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} record")
        weights = directory / str(record["weights"])
        if _sha256(weights) != record["weights_sha256"]:
            raise ValueError(f"{weights.name} does not match its checksum")
        return Checkpoint(
            epoch=int(record["epoch"]),
            weights=weights,
            history=[{k: float(v) for k, v in row.items()} for row in record["history"]],
            train_seconds=float(record["train_seconds"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        set_aside(directory, str(exc))
        return None


def set_aside(directory: Path, why: str) -> Path:
    """Move an unusable checkpoint out of the way (kept for inspection) and say so once."""
    aside = directory.with_name(f"{directory.name}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}")
    os.replace(directory, aside)
    logger.warning(
        "checkpoint %s could not be read (%s); set aside as %s, training starts fresh",
        directory,
        why,
        aside.name,
    )
    return aside


def write_checkpoint(
    directory: Path,
    model: keras.Model,
    epoch: int,
    history: list[dict[str, float]],
    train_seconds: float,
) -> None:
    """Commit the state after `epoch` finished epochs: weights first, the record last."""
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / f"epoch-{epoch:04d}.weights.h5"
    # Keras wants the .weights.h5 suffix, so the staging name keeps it.
    staging = staging_path(weights).with_name(staging_path(weights).name + ".weights.h5")
    try:
        model.save_weights(str(staging))
        os.replace(staging, weights)
    except BaseException as exc:
        if is_disk_full(exc):
            raise disk_full_error(weights) from None
        raise
    finally:
        staging.unlink(missing_ok=True)
    write_json_atomic(
        directory / RECORD_FILE,
        {
            "format": FORMAT,
            "epoch": epoch,
            "weights": weights.name,
            "weights_sha256": _sha256(weights),
            "history": history,
            "train_seconds": train_seconds,
        },
    )
    for old in directory.glob("epoch-*.weights.h5"):
        if old != weights:
            old.unlink(missing_ok=True)


def resumable_backup(directory: Path, history: list[dict[str, float]]) -> Any:
    """A Keras callback that restores the last committed checkpoint when training begins (and the
    history of the epochs before it, into `history`) and commits one after every epoch.

    Put it after the callback that appends to `history`, so each epoch's row is in its checkpoint.
    """
    import keras

    class ResumableBackup(keras.callbacks.Callback):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.previous_seconds = 0.0
            self._started = time.perf_counter()

        def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
            self._started = time.perf_counter()
            state = read_checkpoint(directory)
            if state is None:
                return
            try:
                if self.model.optimizer is not None and not self.model.optimizer.built:
                    self.model.optimizer.build(self.model.trainable_variables)
                self.model.load_weights(str(state.weights))
            except (OSError, ValueError) as exc:
                set_aside(directory, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                return
            self.model._initial_epoch = state.epoch  # what Keras' BackupAndRestore sets, too
            history[:0] = state.history
            self.previous_seconds = state.train_seconds

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            elapsed = self.previous_seconds + time.perf_counter() - self._started
            write_checkpoint(directory, self.model, epoch + 1, history, elapsed)

        def total_seconds(self) -> float:
            return self.previous_seconds + time.perf_counter() - self._started

    return ResumableBackup()
