"""The colours a model saw while it was made: its dataset's train and validation splits.

Evaluation measures a model on every other colour of the cube (held-out); a colour that training
or the choice of stopping point and penalty looked at would flatter it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from fontpipe.data.datasets import open_dataset, read_split_arrays
from fontpipe.data.splits import colour_mask, rounded_index
from fontpipe.errors import FontpipeError
from fontpipe.schema import Split

SEEN_SPLITS: tuple[Split, ...] = ("train", "val")


def seen_colours(dataset_path: Path | str, fingerprint: str | None = None) -> npt.NDArray[np.bool_]:
    """A 2^24 mask of the colours in the dataset's train and val splits. With `fingerprint`,
    the dataset must be the very one the model recorded (a regenerated or replaced dataset
    would hold other colours)."""
    dataset = open_dataset(dataset_path)
    if fingerprint is not None and dataset.fingerprint != fingerprint:
        raise FontpipeError(
            f"{dataset.path}: not the dataset this model was trained on (fingerprint "
            f"{dataset.fingerprint}, the model records {fingerprint})"
        )
    if dataset.sampling == "cube":
        return np.ones(1 << 24, dtype=bool)
    indices = [
        rounded_index(read_split_arrays(dataset, split)[0].astype(np.float32))
        for split in SEEN_SPLITS
        if dataset.split_rows(split)
    ]
    return colour_mask(np.concatenate(indices))
