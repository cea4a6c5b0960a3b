"""Fitting the channel-table model (`fontpipe.model`, architecture `channel-tables`).

The model's score is linear in its 769 parameters (three 256-knot tables and a bias), so the
logistic loss over the training colours is convex, and Newton's method (iteratively reweighted
least squares, the standard fit for logistic regression) converges in a few dozen steps where a
first-order optimiser stalls: on the whole cube, Adam for 40 s left 2,163 to 133,350 WCAG errors
depending on its learning rate; Newton reaches 0 in about 28 steps and 10 s.

The training rows are gathered into the 256x256x256 cube: `weight` counts each colour's rows and
`target` is its share of black labels (a soft label when rows disagree). Every step takes the
gradient of the summed loss from TensorFlow, builds the exact Hessian from the cube's curvature
p(1-p) summed over each pair of channels (three 256x256 blocks and diagonals: the structure makes
it cheap), solves, and backtracks until the loss falls. It stops once every training colour is on
its label's side, after a few more steps that widen the margin. All in float64.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from fontpipe.color.cube import cube_index
from fontpipe.errors import FontpipeError
from fontpipe.model import TABLE_KNOTS
from fontpipe.quiet import import_tensorflow
from fontpipe.schema import CUBE_SIZE

# Newton steps after the first one with every training colour right: they widen the margin.
EXTRA_STEPS = 2
# The tables can trade a constant between them and the bias without changing the score; a
# relative ridge this small fixes that freedom without moving the answer.
RIDGE = 1e-9


@dataclass(frozen=True)
class CubeTargets:
    """Training rows gathered into the cube: how many rows each colour has, and its share of
    black labels."""

    weight: npt.NDArray[np.float64]  # (256, 256, 256)
    target: npt.NDArray[np.float64]  # (256, 256, 256), 0..1; 0 where weight is 0


def gather_cube_targets(chunks: Any) -> CubeTargets:
    """`chunks` yields (rgb uint8-valued (n, 3), label (n,)) pairs."""
    weight = np.zeros(CUBE_SIZE, dtype=np.float64)
    black = np.zeros(CUBE_SIZE, dtype=np.float64)
    for rgb, label in chunks:
        if np.any(rgb != np.round(rgb)):
            raise FontpipeError(
                "the channel-tables model trains on integer colours; this dataset has "
                "fractional channels (uniform-float sampling): use the mlp architecture"
            )
        index = cube_index(rgb.astype(np.uint8))
        weight += np.bincount(index, minlength=CUBE_SIZE)
        black += np.bincount(
            index, weights=np.asarray(label, dtype=np.float64), minlength=CUBE_SIZE
        )
    target = np.divide(black, weight, out=np.zeros_like(black), where=weight > 0)
    shape = (TABLE_KNOTS,) * 3
    return CubeTargets(weight=weight.reshape(shape), target=target.reshape(shape))


@dataclass(frozen=True)
class FitStep:
    step: int
    loss: float  # mean logistic loss per training row
    accuracy: float  # share of training rows on their label's side
    errors: int  # training colours on the wrong side of their (majority) label
    seconds: float


def fit_channel_tables(
    model: Any,
    targets: CubeTargets,
    *,
    max_steps: int,
    on_step: Callable[[FitStep], None] | None = None,
) -> list[FitStep]:
    """Newton's method on `model`'s ChannelTables layer, in place; returns one record per step."""

    tf = import_tensorflow()
    layer = model.get_layer("channel_tables")
    rows = float(targets.weight.sum())
    if rows == 0:
        raise FontpipeError("no training rows to fit")
    loss_only, newton_pieces = _cube_functions(tf, targets)
    steps: list[FitStep] = []
    started = time.perf_counter()
    extra = EXTRA_STEPS
    for step in range(1, max_steps + 1):
        tables = tf.convert_to_tensor(layer.tables)
        bias = tf.convert_to_tensor(layer.bias)
        loss, grad_tables, grad_bias, h_rg, h_rb, h_gb, errors, right = newton_pieces(tables, bias)
        record = FitStep(
            step=step,
            loss=float(loss) / rows,
            accuracy=float(right) / rows,
            errors=int(errors),
            seconds=time.perf_counter() - started,
        )
        if not math.isfinite(record.loss):
            raise FontpipeError(
                "training diverged: the loss became NaN or infinite; nothing was saved"
            )
        steps.append(record)
        if on_step is not None:
            on_step(record)
        if record.errors == 0:
            if extra == 0:
                break
            extra -= 1
        gradient = tf.concat([tf.reshape(grad_tables, [-1]), tf.reshape(grad_bias, [1])], 0)
        direction = _newton_direction(tf, _hessian(tf, h_rg, h_rb, h_gb), gradient)
        scale = 1.0
        while True:  # backtracking: a full Newton step can overshoot far from the optimum
            new_tables = tables - scale * tf.reshape(direction[:-1], (3, TABLE_KNOTS))
            new_bias = bias - scale * direction[-1]
            if float(loss_only(new_tables, new_bias)) < float(loss) or scale < 1e-8:
                break
            scale *= 0.5
        layer.tables.assign(new_tables)
        layer.bias.assign(new_bias)
    return steps


def _cube_functions(tf: Any, targets: CubeTargets) -> tuple[Any, Any]:
    """The summed logistic loss over the cube, and the pieces of one Newton step: the loss, its
    gradient, the curvature summed over each pair of channels, and the training errors."""
    weight = tf.constant(targets.weight)
    target = tf.constant(targets.target)
    decided = tf.constant(targets.weight > 0) & tf.constant(targets.target != 0.5)
    wants_black = tf.constant(targets.target > 0.5)

    def cube_score(tables: Any, bias: Any) -> Any:
        # The layer's summation order, so training sees exactly what the model computes.
        return (
            (tables[0][:, None, None] + tables[1][None, :, None]) + tables[2][None, None, :]
        ) + bias

    def cube_loss(score: Any) -> Any:
        return tf.reduce_sum(
            weight * (target * tf.nn.softplus(-score) + (1.0 - target) * tf.nn.softplus(score))
        )

    @tf.function(jit_compile=True)  # type: ignore[untyped-decorator]
    def loss_only(tables: Any, bias: Any) -> Any:
        return cube_loss(cube_score(tables, bias))

    @tf.function(jit_compile=True)  # type: ignore[untyped-decorator]
    def newton_pieces(tables: Any, bias: Any) -> Any:
        with tf.GradientTape() as tape:
            tape.watch([tables, bias])
            score = cube_score(tables, bias)
            loss = cube_loss(score)
        grad_tables, grad_bias = tape.gradient(loss, [tables, bias])
        p = tf.sigmoid(score)
        curvature = weight * p * (1.0 - p)
        wrong = decided & ((score > 0) != wants_black)
        right_rows = tf.reduce_sum(weight * tf.where(score > 0, target, 1.0 - target))
        return (
            loss,
            grad_tables,
            grad_bias,
            tf.reduce_sum(curvature, 2),  # (r, g)
            tf.reduce_sum(curvature, 1),  # (r, b)
            tf.reduce_sum(curvature, 0),  # (g, b)
            tf.reduce_sum(tf.cast(wrong, tf.int64)),
            right_rows,
        )

    return loss_only, newton_pieces


def _newton_direction(tf: Any, hessian: Any, gradient: Any) -> Any:
    """Solve (H + ridge I) d = g; the small ridge keeps the solve well posed where the data
    leave a knot unconstrained."""
    size = hessian.shape[0]
    ridge = RIDGE * tf.linalg.trace(hessian) / size
    return tf.linalg.solve(hessian + ridge * tf.eye(size, dtype=tf.float64), gradient[:, None])[
        :, 0
    ]


def _hessian(tf: Any, h_rg: Any, h_rb: Any, h_gb: Any) -> Any:
    """The 769x769 Hessian of the summed loss in (T_r, T_g, T_b, bias), from the pair sums."""
    d_r, d_g, d_b = tf.reduce_sum(h_rg, 1), tf.reduce_sum(h_rg, 0), tf.reduce_sum(h_rb, 0)
    return tf.concat(
        [
            tf.concat([tf.linalg.diag(d_r), h_rg, h_rb, d_r[:, None]], 1),
            tf.concat([tf.transpose(h_rg), tf.linalg.diag(d_g), h_gb, d_g[:, None]], 1),
            tf.concat(
                [tf.transpose(h_rb), tf.transpose(h_gb), tf.linalg.diag(d_b), d_b[:, None]], 1
            ),
            tf.concat(
                [d_r[None, :], d_g[None, :], d_b[None, :], tf.reduce_sum(d_r)[None, None]], 1
            ),
        ],
        0,
    )
