"""Labelled rows gathered per distinct colour: what the channel-table fit learns from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from fontpipe.errors import FontpipeError
from fontpipe.schema import CUBE_SIZE

# From this many rows, counting into a 2^24 array beats sorting the colours.
COUNT_INTO_CUBE_FROM = 1 << 21


@dataclass(frozen=True)
class ColourRows:
    """Labelled rows gathered per distinct colour."""

    index: npt.NDArray[np.int64]  # cube index r<<16 | g<<8 | b, each once
    weight: npt.NDArray[np.float64]  # rows of that colour
    target: npt.NDArray[np.float64]  # share of those rows labelled black

    @property
    def rows(self) -> int:
        return round(float(self.weight.sum()))

    @property
    def colours(self) -> int:
        return len(self.index)


def gather_colour_rows(batches: Iterable[tuple[Any, Any]]) -> ColourRows:
    """`batches` yields (rgb (n, 3) with integer values 0-255, label (n,)) pairs, e.g. from a
    `tf.data` pipeline as numpy."""
    indices: list[npt.NDArray[np.int64]] = []
    labels: list[npt.NDArray[np.float64]] = []
    for rgb, label in batches:
        values = np.asarray(rgb)
        if np.any(values != np.round(values)):
            raise FontpipeError(
                "the channel-tables model trains on integer colours; this dataset has "
                "fractional channels (uniform-float sampling): use the mlp architecture"
            )
        channels = values.astype(np.int64)
        indices.append((channels[:, 0] << 16) | (channels[:, 1] << 8) | channels[:, 2])
        labels.append(np.asarray(label, dtype=np.float64))
    if not indices:
        return ColourRows(np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
    every_index, every_label = np.concatenate(indices), np.concatenate(labels)
    if len(every_index) > COUNT_INTO_CUBE_FROM:
        # Counting into the whole cube is linear; sorting millions of indices is not.
        counts = np.bincount(every_index, minlength=CUBE_SIZE)
        index = np.flatnonzero(counts)
        black = np.bincount(every_index, weights=every_label, minlength=CUBE_SIZE)[index]
        weight = counts[index].astype(np.float64)
    else:
        index, inverse = np.unique(every_index, return_inverse=True)
        weight = np.bincount(inverse, minlength=len(index)).astype(np.float64)
        black = np.bincount(inverse, weights=every_label, minlength=len(index))
    return ColourRows(index=index, weight=weight, target=black / weight)
