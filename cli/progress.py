"""A Keras callback that drives a rich progress bar: one bar per epoch, with loss and accuracy."""

from __future__ import annotations

from typing import Any

from rich.progress import Progress, TextColumn

from cli.console import progress_bar


def training_progress(
    epochs: int, steps_per_epoch: int, unit: str = "epoch"
) -> tuple[Progress, Any]:
    import keras

    progress = progress_bar(TextColumn("{task.fields[metrics]}", markup=False))

    class RichEpochs(keras.callbacks.Callback):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.task: Any = None
            self.done = 0  # steps of this epoch finished

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.done = 0
            self.task = progress.add_task(
                f"{unit} {epoch + 1}/{epochs}", total=steps_per_epoch, metrics=""
            )

        def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            # The total is an estimate (a last partial batch, rows mixed in by --prior): a bar
            # never reads more done than its total, so the total grows with what is done.
            self.done = done = batch + 1
            total = max(steps_per_epoch, done)
            # Refresh the numbers every 50 steps: reading them back synchronises with the device.
            if batch % 50 == 0 and logs:
                progress.update(self.task, completed=done, total=total, metrics=_format(logs))
            else:
                progress.update(self.task, completed=done, total=total)

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            # Whole when the epoch is: its total is the steps it took (one per Newton step).
            steps = self.done or steps_per_epoch
            progress.update(self.task, completed=steps, total=steps, metrics=_format(logs or {}))

    return progress, RichEpochs()


def _format(logs: dict[str, Any]) -> str:
    keys = ("loss", "accuracy", "val_loss", "val_accuracy")
    return "  ".join(f"{k} {float(logs[k]):.4f}" for k in keys if k in logs)
