"""Fitting the channel-table model (`fontpipe.model`, architecture `channel-tables`).

The model's score is T_r[r] + T_g[g] + T_b[b] + bias: linear in its 769 parameters, so the
logistic loss over the training colours plus a quadratic smoothness penalty is convex, and
Newton's method (iteratively reweighted least squares, the standard fit for logistic
regression) converges in a few dozen steps where a first-order optimiser stalls.

Every rule fontpipe ships thresholds a sum of one smooth, rising function per channel, so the
family holds each rule exactly; what a fit from a sample gets wrong is the tables between and
beyond the training colours. Unpenalised, a table knot that few training colours pin can take
any value, and far-from-boundary colours flip (a sample of 200,000 wcag colours left errors
down to 1.37:1 contrast). The penalty on each table's second differences,
(penalty / 2) * sum((T[k+1] - 2 T[k] + T[k-1])^2), makes the tables smooth where the data say
nothing; the validation split picks its strength from `PENALTIES` and the Newton step to keep.

Training rows are gathered per distinct colour: `weight` counts a colour's rows and `target` is
its share of black labels (a soft label where rows disagree). A step sums the curvature
p(1-p) over each channel and each pair of channels (segment sums), assembles the exact 769x769
Hessian, solves, and backtracks until the objective falls. All in float64, in TensorFlow, on
the device the run was given.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from fontpipe.errors import FontpipeError
from fontpipe.model import TABLE_KNOTS
from fontpipe.quiet import import_tensorflow
from fontpipe.training.colour_rows import ColourRows

# Smoothness penalties tried, strongest first; the validation split chooses. On 1 % samples
# of the cube the best lie in this range for every rule (bench/learning_curve.py).
PENALTIES = (1e-2, 1e-3, 1e-4)
# Newton steps after the first one with every training colour right (exact fits without a
# validation split): they widen the margin.
EXTRA_STEPS = 2
# The tables can trade a constant between them and the bias without changing the score; a
# relative ridge this small fixes that freedom without moving the answer.
RIDGE = 1e-9
# From this many distinct training colours, a step works on the whole 256^3 cube at once
# (reductions over its axes) instead of sums over the colours present: for the whole cube
# (`cube` sampling), 0.9 s a step instead of 8 s.
DENSE_FROM = 1 << 21
# A Newton run stops once a step lowers the objective by less than this fraction, or, with a
# validation split, once this many steps in a row have not improved on it (early stopping).
CONVERGED = 1e-10
PATIENCE = 4


@dataclass(frozen=True)
class FitStep:
    penalty: float
    step: int
    loss: float  # mean logistic loss per training row
    accuracy: float  # share of training rows on their label's side
    errors: int  # training colours on the wrong side of their (majority) label
    val_loss: float  # nan without a validation split
    val_errors: int  # validation colours on the wrong side; -1 without a validation split
    seconds: float


@dataclass(frozen=True)
class TableFit:
    """The tables and bias kept, and how they were chosen."""

    tables: npt.NDArray[np.float64]  # (3, 256)
    bias: float
    penalty: float
    step: int  # the Newton step whose parameters were kept
    steps: list[FitStep]  # every step of the kept penalty's run
    search: list[FitStep] = field(default_factory=list)  # each penalty's best step

    def summary(self) -> str:
        kept = next(s for s in self.steps if s.step == self.step)
        chosen = f"penalty {self.penalty:g}, Newton step {self.step}"
        if kept.val_errors < 0:
            return f"{chosen} (no validation split: an exact fit of the training colours)"
        return f"{chosen}, chosen on the validation split ({kept.val_errors} errors there)"


def fit_channel_tables(
    train: ColourRows,
    val: ColourRows | None,
    *,
    max_steps: int,
    device: str | None = None,
    penalties: tuple[float, ...] = PENALTIES,
    on_step: Callable[[FitStep], None] | None = None,
) -> TableFit:
    """Newton's method for each penalty; the validation split chooses the penalty and the step
    (fewest validation errors, then lowest validation loss). Without a validation split (an
    exact fit of the whole cube) there is no penalty, and the fit stops once every training
    colour is right and `EXTRA_STEPS` more steps have widened the margin."""
    tf = import_tensorflow()
    if train.rows == 0:
        raise FontpipeError("no training rows to fit")
    usable_val = val if val is not None and val.colours else None
    trials = penalties if usable_val is not None else (0.0,)
    runs: list[tuple[npt.NDArray[np.float64], FitStep, list[FitStep]]] = []
    start = np.zeros(3 * TABLE_KNOTS + 1)
    with tf.device(device) if device else contextlib.nullcontext():
        problem = _DenseProblem(tf, train) if train.colours > DENSE_FROM else _Problem(tf, train)
        for penalty in trials:
            # Each weaker penalty starts from the stronger one's optimum (a continuation):
            # nearby, so Newton needs a few steps instead of thirty.
            kept_params, kept_step, steps, start = _newton_run(
                tf, problem, usable_val, penalty, max_steps, on_step, start
            )
            runs.append((kept_params, kept_step, steps))
    params, kept, steps = min(runs, key=lambda run: _rank(run[1]))
    return TableFit(
        tables=params[:-1].reshape(3, TABLE_KNOTS),
        bias=float(params[-1]),
        penalty=kept.penalty,
        step=kept.step,
        steps=steps,
        search=[run[1] for run in runs],
    )


def _rank(step: FitStep) -> tuple[float, float]:
    if step.val_errors < 0:
        return (step.errors, step.loss)
    return (step.val_errors, step.val_loss)


def _clearly_better(step: FitStep, best: FitStep) -> bool:
    """Fewer validation errors, or as many and a validation loss lower by more than 1 %. Once
    no training or validation colour is wrong, a lower loss only means a wider margin, which is
    no reason to go on (the mean rule otherwise ran all 60 steps)."""
    if step.val_errors < 0:
        return _rank(step) < _rank(best)
    if step.val_errors == 0 and step.errors == 0:
        return best.val_errors > 0
    return step.val_errors < best.val_errors or (
        step.val_errors == best.val_errors and step.val_loss < 0.99 * best.val_loss
    )


def _newton_run(
    tf: Any,
    problem: _Problem,
    val: ColourRows | None,
    penalty: float,
    max_steps: int,
    on_step: Callable[[FitStep], None] | None,
    start: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], FitStep, list[FitStep], npt.NDArray[np.float64]]:
    """One penalty's Newton run from `start`: (parameters kept, the step they come from, every
    step, the last parameters)."""
    strength = tf.constant(penalty, dtype=tf.float64)
    params = tf.constant(start, dtype=tf.float64)
    objective = problem.objective(params, strength)
    started = time.perf_counter()
    steps: list[FitStep] = []
    best: tuple[Any, FitStep] | None = None
    improved = 1  # the last step that clearly improved on the best so far
    extra = EXTRA_STEPS
    for number in range(1, max_steps + 1):
        loss, errors, right, gradient, hessian = problem.pieces(params, strength)
        val_loss, val_errors = _val_figures(params, val) if val is not None else (math.nan, -1)
        step = FitStep(
            penalty=penalty,
            step=number,
            loss=float(loss),
            accuracy=float(right),
            errors=int(errors),
            val_loss=val_loss,
            val_errors=val_errors,
            seconds=time.perf_counter() - started,
        )
        if not math.isfinite(step.loss):
            raise FontpipeError(
                "training diverged: the loss became NaN or infinite; nothing was saved"
            )
        steps.append(step)
        if on_step is not None:
            on_step(step)
        if best is not None and _clearly_better(step, best[1]):
            improved = number
        if best is None or _rank(step) < _rank(best[1]):
            best = (params, step)
        if val is not None and number - improved >= PATIENCE:
            break
        if val is None and step.errors == 0:
            if extra == 0:
                break
            extra -= 1
        direction = _solve(tf, hessian, gradient)
        scale = 1.0
        while True:  # backtracking: a full Newton step can overshoot far from the optimum
            candidate = params - scale * direction
            lower = problem.objective(candidate, strength)
            if float(lower) < float(objective) or scale < 1e-8:
                break
            scale *= 0.5
        decrease = float(objective) - float(lower)
        params, objective = candidate, lower
        if decrease < CONVERGED * abs(float(objective)):
            break
    assert best is not None
    last = np.asarray(params, dtype=np.float64)
    return np.asarray(best[0], dtype=np.float64), best[1], steps, last


def _val_figures(params: Any, val: ColourRows) -> tuple[float, int]:
    """Mean logistic loss per validation row and validation colours on the wrong side."""
    score = table_scores(np.asarray(params, dtype=np.float64), val.index)
    loss = val.weight * (
        val.target * np.logaddexp(0.0, -score) + (1 - val.target) * np.logaddexp(0.0, score)
    )
    decided = val.target != 0.5
    wrong = decided & ((score > 0) != (val.target > 0.5))
    return float(loss.sum() / val.weight.sum()), int(np.count_nonzero(wrong))


def table_scores(params: npt.NDArray[np.float64], index: npt.NDArray[np.int64]) -> Any:
    """The model's score at cube indices, in the layer's summation order."""
    tables = params[:-1].reshape(3, TABLE_KNOTS)
    return (
        (tables[0][index >> 16] + tables[1][(index >> 8) & 255]) + tables[2][index & 255]
    ) + params[-1]


class _Problem:
    """The penalised objective over the training colours, and the pieces of a Newton step;
    sums over the colours present. `_DenseProblem` keeps the same steps over the whole grid."""

    # XLA for the dense grid only: over the colours present, segment sums are the work.
    jit_compile: bool | None = None

    def __init__(self, tf: Any, train: ColourRows) -> None:
        self.tf = tf
        self._hold_rows(train)
        second = np.diff(np.eye(TABLE_KNOTS), n=2, axis=0)  # (254, 256) second differences
        self.smooth = tf.constant(second.T @ second)  # (256, 256), times the penalty
        self.smooth_blocks = tf.linalg.LinearOperatorBlockDiag(
            [tf.linalg.LinearOperatorFullMatrix(self.smooth)] * 3
            + [tf.linalg.LinearOperatorFullMatrix(tf.zeros((1, 1), tf.float64))]
        ).to_dense()
        # Graph functions: a Newton step is some thirty small operations, and eager dispatch
        # of each would cost more than the arithmetic.
        self.objective = tf.function(self._objective, jit_compile=self.jit_compile)
        self.pieces = tf.function(self._pieces, jit_compile=self.jit_compile)

    def _hold_rows(self, train: ColourRows) -> None:
        tf = self.tf
        self.r = tf.constant(train.index >> 16)
        self.g = tf.constant((train.index >> 8) & 255)
        self.b = tf.constant(train.index & 255)
        self.weight = tf.constant(train.weight / train.weight.sum())  # mean loss per row
        self.target = tf.constant(train.target)
        self.decided = tf.constant(train.target != 0.5)
        self.wants_black = tf.constant(train.target > 0.5)

    def _score(self, params: Any) -> Any:
        tf = self.tf
        tables = tf.reshape(params[:-1], (3, TABLE_KNOTS))
        return (
            (tf.gather(tables[0], self.r) + tf.gather(tables[1], self.g))
            + tf.gather(tables[2], self.b)
        ) + params[-1]

    def _channel_sums(self, values: Any) -> list[Any]:
        """`values` summed per level of r, of g and of b: three (256,) vectors."""
        return [
            self.tf.math.unsorted_segment_sum(values, c, TABLE_KNOTS)
            for c in (self.r, self.g, self.b)
        ]

    def _pair_sums(self, values: Any) -> tuple[Any, Any, Any]:
        """`values` summed per pair of levels: (r, g), (r, b) and (g, b), each (256, 256)."""
        tf = self.tf

        def pair(a: Any, b: Any) -> Any:
            flat = tf.math.unsorted_segment_sum(values, a * TABLE_KNOTS + b, TABLE_KNOTS**2)
            return tf.reshape(flat, (TABLE_KNOTS, TABLE_KNOTS))

        return pair(self.r, self.g), pair(self.r, self.b), pair(self.g, self.b)

    def _loss(self, score: Any) -> Any:
        tf = self.tf
        return tf.reduce_sum(
            self.weight
            * (self.target * tf.nn.softplus(-score) + (1 - self.target) * tf.nn.softplus(score))
        )

    def _smooth_gradient(self, params: Any, penalty: Any) -> Any:
        """The penalty's gradient per table, (3, 256)."""
        tf = self.tf
        tables = tf.reshape(params[:-1], (3, TABLE_KNOTS))
        return penalty * tf.transpose(self.smooth @ tf.transpose(tables))

    def _objective(self, params: Any, penalty: Any) -> Any:
        tables = self.tf.reshape(params[:-1], (3, TABLE_KNOTS))
        smooth = self._smooth_gradient(params, penalty)
        return self._loss(self._score(params)) + 0.5 * self.tf.reduce_sum(tables * smooth)

    def _pieces(self, params: Any, penalty: Any) -> tuple[Any, Any, Any, Any, Any]:
        """Mean loss, training errors, accuracy, gradient and Hessian of the objective."""
        tf = self.tf
        score = self._score(params)
        p = tf.sigmoid(score)
        residual = self.weight * (p - self.target)
        curvature = self.weight * p * (1 - p)
        wrong = self.decided & ((score > 0) != self.wants_black)
        right = tf.reduce_sum(self.weight * tf.where(score > 0, self.target, 1 - self.target))
        smooth_grad = self._smooth_gradient(params, penalty)
        gradient = tf.concat(
            [total + smooth_grad[i] for i, total in enumerate(self._channel_sums(residual))]
            + [tf.reduce_sum(residual)[None]],
            0,
        )
        hessian = _hessian(tf, *self._pair_sums(curvature))
        errors = tf.reduce_sum(tf.cast(wrong, tf.int64))
        return (
            self._loss(score),
            errors,
            right,
            gradient,
            hessian + penalty * self.smooth_blocks,
        )


class _DenseProblem(_Problem):
    """The same objective and pieces over the whole cube as a 256^3 grid, for training sets
    that cover much of it (a colour absent from training has weight 0)."""

    jit_compile = True

    def _hold_rows(self, train: ColourRows) -> None:
        tf = self.tf
        shape = (TABLE_KNOTS,) * 3
        weight = np.zeros(TABLE_KNOTS**3)
        target = np.zeros(TABLE_KNOTS**3)
        weight[train.index] = train.weight / train.weight.sum()
        target[train.index] = train.target
        self.weight = tf.constant(weight.reshape(shape))
        self.target = tf.constant(target.reshape(shape))
        self.decided = tf.constant(((weight > 0) & (target != 0.5)).reshape(shape))
        self.wants_black = tf.constant((target > 0.5).reshape(shape))

    def _score(self, params: Any) -> Any:
        tables = self.tf.reshape(params[:-1], (3, TABLE_KNOTS))
        # The layer's summation order, so training sees exactly what the model computes.
        return (
            (tables[0][:, None, None] + tables[1][None, :, None]) + tables[2][None, None, :]
        ) + params[-1]

    def _channel_sums(self, values: Any) -> list[Any]:
        tf = self.tf
        return [tf.reduce_sum(values, axes) for axes in ([1, 2], [0, 2], [0, 1])]

    def _pair_sums(self, values: Any) -> tuple[Any, Any, Any]:
        tf = self.tf
        return tf.reduce_sum(values, 2), tf.reduce_sum(values, 1), tf.reduce_sum(values, 0)


def _solve(tf: Any, hessian: Any, gradient: Any) -> Any:
    """Solve (H + ridge I) d = g; the small ridge keeps the solve well posed where the data
    leave a knot unconstrained."""
    size = hessian.shape[0]
    ridge = RIDGE * tf.linalg.trace(hessian) / size
    # The matrix is symmetric positive definite (a convex loss's Hessian plus the penalty and
    # the ridge): Cholesky solves it in half the time of a general LU solve.
    factor = tf.linalg.cholesky(hessian + ridge * tf.eye(size, dtype=tf.float64))
    return tf.linalg.cholesky_solve(factor, gradient[:, None])[:, 0]


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
