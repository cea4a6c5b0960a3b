"""The 24-bit colour cube: every 8-bit RGB colour, indexed r<<16 | g<<8 | b.

An 8-bit model has only 2^24 inputs, so it is evaluated on all of them, and its answers are kept as
a cube table (float16 P(black) per colour, 32 MiB) that scoring turns into a gather. Pure: the
table's file beside its model belongs to `fontpipe.registry.versions`.
"""

from __future__ import annotations

# TensorFlow and Keras load on first use: they cost seconds at start-up (python -X importtime), and a look-up never needs them.
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from fontpipe.schema import CUBE_SIZE

if TYPE_CHECKING:
    import keras

CUBE_CHUNK = 1 << 20  # colours per model call: 12 MiB of float32 input

CubeTable = npt.NDArray[np.float16]


def cube_index(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint32]:
    """(n, 3) uint8 colours -> r<<16 | g<<8 | b, their position in the cube table.

    In uint32 and in place: a third of the time of widening to int64, and of a byte shuffle
    into a (n, 4) view (numpy copies a reversed, strided column slowly).
    """
    index = rgb[:, 0].astype(np.uint32)
    index <<= 16
    green = rgb[:, 1].astype(np.uint32)
    green <<= 8
    index |= green
    index |= rgb[:, 2]
    return index


def cube_colours(start: int, stop: int) -> npt.NDArray[np.uint8]:
    """The colours at cube positions start..stop-1, as (n, 3) uint8."""
    index = np.arange(start, stop, dtype=np.uint32)
    rgb = np.empty((stop - start, 3), dtype=np.uint8)
    rgb[:, 0] = index >> 16
    rgb[:, 1] = (index >> 8) & 0xFF
    rgb[:, 2] = index & 0xFF
    return rgb


def cube_colours_of(indices: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
    """The colours at the given cube positions, as (n, 3) uint8."""
    index = np.asarray(indices, dtype=np.int64)
    return np.stack([(index >> 16) & 0xFF, (index >> 8) & 0xFF, index & 0xFF], axis=1).astype(
        np.uint8
    )


def iter_cube_chunks(chunk: int = CUBE_CHUNK) -> Iterator[tuple[int, npt.NDArray[np.uint8]]]:
    for start in range(0, CUBE_SIZE, chunk):
        yield start, cube_colours(start, min(start + chunk, CUBE_SIZE))


def probability_function(
    model: keras.Model,
) -> Callable[[npt.NDArray[np.float32]], npt.NDArray[np.float32]]:
    """P(black) for raw 0-255 float32 colours, compiled once with XLA and called on big chunks
    (model.predict adds per-batch overhead that dominates for a model this small)."""
    import tensorflow as tf

    @tf.function(jit_compile=True, reduce_retracing=True)  # type: ignore[untyped-decorator]
    def p_black(rgb: tf.Tensor) -> tf.Tensor:
        return tf.nn.softmax(model(rgb, training=False), axis=-1)[:, 1]

    def call(rgb: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        return np.asarray(p_black(tf.constant(rgb, dtype=tf.float32)))

    return call


_JUST_ABOVE_HALF = np.nextafter(np.float16(0.5), np.float16(1.0))


def to_float16_keeping_decision(p: npt.NDArray[np.float32]) -> npt.NDArray[np.float16]:
    """float16 rounds a P(black) in (0.5, 0.50012) down to 0.5, which would turn black into white
    right at the boundary; those become the next float16 above 0.5, so `> 0.5` is unchanged."""
    half = p.astype(np.float16)
    half[(p > 0.5) & (half <= 0.5)] = _JUST_ABOVE_HALF
    return half


def compute_cube_table(
    model: keras.Model, progress: Callable[[int], None] | None = None
) -> CubeTable:
    """P(black) for all 16,777,216 colours, in bounded chunks."""
    p_black = probability_function(model)
    table = np.empty(CUBE_SIZE, dtype=np.float16)
    for start, rgb in iter_cube_chunks():
        table[start : start + len(rgb)] = to_float16_keeping_decision(
            p_black(rgb.astype(np.float32))
        )
        if progress is not None:
            progress(len(rgb))
    return table


def lookup_p_black(table: CubeTable, rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """P(black) of (n, 3) uint8 colours: one gather from the table."""
    # np.take gathers with the uint32 index as it is; table[index] first converts it to intp.
    return np.take(table, cube_index(rgb)).astype(np.float32)
