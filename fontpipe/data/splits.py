"""Which split a colour belongs to: one split per colour, for every dataset of a seed.

A colour's split is a pure function of (colour, seed, split fractions): a 64-bit hash of the
colour's cube index and the seed, read as a number in [0, 1) against the cumulative fractions.
Every split draws only the colours assigned to it, so no colour is in two splits, and
"held-out" (val and test) means colours the train split never holds. Fractional colours
(`uniform-float`) belong to the split of the integer colour they round to, so two nearly equal
colours never straddle two splits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from fontpipe.color.cube import cube_index
from fontpipe.errors import FontpipeError
from fontpipe.schema import CUBE_SIZE, SPLITS, Split

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix64(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64's finaliser: every input bit moves every output bit (wrapping uint64 maths)."""
    z = values.copy()
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    mixed: npt.NDArray[np.uint64] = z
    return mixed


def colour_split(
    index: npt.NDArray[np.int64], seed: int, fractions: tuple[float, float, float]
) -> npt.NDArray[np.int8]:
    """The split (0 train, 1 val, 2 test, as in `SPLITS`) of each cube index."""
    with np.errstate(over="ignore"):
        key = index.astype(np.uint64) + np.uint64(seed + 1) * _GOLDEN
        unit = (_mix64(key) >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    edges = np.cumsum(fractions)[:2]
    split: npt.NDArray[np.int8] = np.searchsorted(edges, unit, side="right").astype(np.int8)
    return split


def rounded_index(rgb: npt.NDArray[np.uint8] | npt.NDArray[np.float32]) -> npt.NDArray[np.int64]:
    """Cube index of each colour; fractional channels round to the nearest integer colour."""
    whole = rgb if rgb.dtype == np.uint8 else np.clip(np.rint(rgb), 0, 255)
    return cube_index(whole.astype(np.uint8, copy=False)).astype(np.int64)


def in_split(
    rgb: npt.NDArray[np.uint8] | npt.NDArray[np.float32],
    split: Split,
    seed: int,
    fractions: tuple[float, float, float],
) -> npt.NDArray[np.bool_]:
    chosen: npt.NDArray[np.bool_] = colour_split(rounded_index(rgb), seed, fractions) == (
        SPLITS.index(split)
    )
    return chosen


def colour_mask(index: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """A 2^24 boolean mask of the cube colours present in `index`."""
    mask = np.zeros(CUBE_SIZE, dtype=bool)
    mask[index] = True
    return mask


class SplitColourCheck:
    """Counts, while a dataset is written, the distinct colours of each split and the colours
    found in more than one split (always 0 for what fontpipe writes: the manifest records it)."""

    def __init__(self) -> None:
        # -1: no split holds the colour yet; else the split's position in SPLITS.
        self._owner = np.full(CUBE_SIZE, -1, dtype=np.int8)
        self._shared = np.zeros(CUBE_SIZE, dtype=bool)

    def add(self, split: Split, rgb: npt.NDArray[np.uint8] | npt.NDArray[np.float32]) -> None:
        index = rounded_index(rgb)
        position = np.int8(SPLITS.index(split))
        owner = self._owner[index]
        self._shared[index[(owner >= 0) & (owner != position)]] = True
        self._owner[index[owner < 0]] = position

    def record(self) -> dict[str, object]:
        """What the manifest keeps under `colour_splits`."""
        return {
            "assignment": "hash of colour and seed (fontpipe.data.splits)",
            "distinct_colours": {
                split: int(np.count_nonzero(self._owner == i)) for i, split in enumerate(SPLITS)
            },
            "shared_colours": int(np.count_nonzero(self._shared)),
        }

    def checked_record(self, out: Path) -> dict[str, object]:
        """`record()`, refusing a colour in two splits (it would make validation and test
        figures partly training figures)."""
        record = self.record()
        if record["shared_colours"]:
            raise FontpipeError(
                f"{out}: {record['shared_colours']} colours fell in more than one split; "
                "nothing was written"
            )
        return record
