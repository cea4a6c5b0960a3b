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

TABLE_KNOTS = 256  # levels of a channel, as fontpipe.model's tables hold them

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
    layers = {layer.name: layer for layer in model.layers}
    if "channel_tables" in layers:
        layer = layers["channel_tables"]
        table = channel_tables_cube(np.asarray(layer.tables, np.float64), float(layer.bias))
        if progress is not None:
            progress(CUBE_SIZE)
        return table
    p_black = probability_function(model)
    table = np.empty(CUBE_SIZE, dtype=np.float16)
    for start, rgb in iter_cube_chunks():
        table[start : start + len(rgb)] = to_float16_keeping_decision(
            p_black(rgb.astype(np.float32))
        )
        if progress is not None:
            progress(len(rgb))
    return table


def channel_tables_cube(tables: npt.NDArray[np.float64], bias: float) -> CubeTable:
    """The cube table of a channel-table model straight from its tables, a red plane at a time:
    at integer colours its layer computes s = ((T_r[r] + T_g[g]) + T_b[b]) + bias and the
    softmax of (-s/2, s/2), which is this, in float64 and in the same order (0.3 s, where
    running the model over the cube takes 2-3 s)."""
    table = np.empty(CUBE_SIZE, dtype=np.float16)
    plane = TABLE_KNOTS * TABLE_KNOTS
    for red in range(TABLE_KNOTS):
        score = ((tables[0][red] + tables[1][:, None]) + tables[2][None, :]) + bias
        # softmax(-s/2, s/2)[1], shifted by the larger logit as a softmax is; the branch not
        # taken may overflow, harmlessly.
        with np.errstate(over="ignore", invalid="ignore"):
            p = np.where(
                score >= 0, 1.0 / (np.exp(-score) + 1.0), np.exp(score) / (1.0 + np.exp(score))
            )
        table[red * plane : (red + 1) * plane] = to_float16_keeping_decision(p.ravel())
    return table


def lookup_p_black(table: CubeTable, rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """P(black) of (n, 3) uint8 colours: one gather from the table."""
    # np.take gathers with the uint32 index as it is; table[index] first converts it to intp.
    return np.take(table, cube_index(rgb)).astype(np.float32)
