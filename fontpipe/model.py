"""The one model factory: raw 0-255 RGB in, two logits (white, black) out.

Two families:
- `mlp`: the fix for the original "always returns 0.5" network, kept whole: inputs scaled to
  [-1, 1] inside the model, ReLU hidden layers with He initialisation, two logits trained with
  softmax cross-entropy by Adam.
- `channel-tables`: a learned function of each channel (a 256-knot piecewise-linear table per
  channel), summed with a bias into one score s, as logits (-s/2, s/2). Every labelling rule
  here is a threshold on a sum of per-channel functions, so this family can represent each of
  them exactly, and reads as what it learned: three curves. Trained by Newton's method on the
  whole cube (`fontpipe.training.table_fit`); float64 inside, because the WCAG boundary passes within
  6e-9 (in luminance) of some integer colours.
"""

from __future__ import annotations

# TensorFlow and Keras load on first use: they cost seconds at start-up (python -X importtime), and a look-up never needs them.
import functools
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

if TYPE_CHECKING:
    import keras


Architecture = Literal["mlp", "channel-tables"]
ARCHITECTURES: tuple[Architecture, ...] = ("mlp", "channel-tables")


class ModelConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    architecture: Architecture = "mlp"
    hidden: tuple[int, ...] = (10, 10, 5)  # mlp only

    @field_validator("hidden")
    @classmethod
    def _positive_widths(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value:
            raise ValueError("at least one hidden layer is needed")
        if any(width <= 0 for width in value):
            raise ValueError(f"every hidden layer needs a positive width, got {value}")
        return value


def build_model(config: ModelConfig, seed: int, *, table_dtype: str = "float64") -> keras.Model:
    """An uncompiled Keras model; `seed` fixes the initial weights. `table_dtype` is the float
    type a channel-table model computes in: float64 to train, float32 for an export's runtime."""
    import keras

    if config.architecture == "channel-tables":
        inputs = keras.Input(shape=(3,), dtype="float32", name="rgb")
        tables = channel_tables_layer()(seed=seed, name="channel_tables", dtype=table_dtype)
        return keras.Model(inputs, tables(inputs), name="fontpipe_channel_tables")

    inputs = keras.Input(shape=(3,), dtype="float32", name="rgb")
    # 0..255 -> -1..1: zero-centred inputs keep ReLU units alive and Adam's steps well scaled.
    x = keras.layers.Rescaling(scale=1 / 127.5, offset=-1.0, name="to_unit_range")(inputs)
    for index, width in enumerate(config.hidden):
        x = keras.layers.Dense(
            width,
            activation="relu",
            kernel_initializer=keras.initializers.HeNormal(seed=seed + index),
            name=f"hidden_{index}",
        )(x)
    logits = keras.layers.Dense(
        2,
        kernel_initializer=keras.initializers.HeNormal(seed=seed + len(config.hidden)),
        name="logits",
    )(x)
    return keras.Model(inputs, logits, name="fontpipe_mlp")


TABLE_KNOTS = 256


@functools.cache
def channel_tables_layer() -> Any:
    """The ChannelTables layer class, defined (and registered with Keras, so saved models load)
    on first use: importing this module must not import Keras."""
    import keras
    from keras import ops

    @keras.saving.register_keras_serializable(package="fontpipe")
    class ChannelTables(keras.layers.Layer):  # type: ignore[misc]
        """s = T_r(r) + T_g(g) + T_b(b) + bias, each T a 256-knot piecewise-linear function of
        the raw 0-255 channel (its knot value exactly, at integer inputs); logits (-s/2, s/2),
        so softmax gives P(black) = sigmoid(s)."""

        def __init__(self, seed: int = 0, init_stddev: float = 0.01, **kwargs: Any) -> None:
            kwargs.setdefault("dtype", "float64")
            super().__init__(**kwargs)
            self.seed = seed
            self.init_stddev = init_stddev

        def build(self, input_shape: Any) -> None:
            # Small random tables: nothing of any rule's formula goes into the start.
            start = keras.initializers.RandomNormal(stddev=self.init_stddev, seed=self.seed)
            self.tables = self.add_weight(
                shape=(3, TABLE_KNOTS), initializer=start, name="tables", dtype=self.dtype
            )
            self.bias = self.add_weight(
                shape=(), initializer="zeros", name="bias", dtype=self.dtype
            )

        def _channel(self, index: int, values: Any) -> Any:
            position = ops.clip(values, 0.0, float(TABLE_KNOTS - 1))
            low = ops.floor(position)
            fraction = position - low  # exactly 0 at integer inputs
            low_index = ops.cast(low, "int32")
            high_index = ops.minimum(low_index + 1, TABLE_KNOTS - 1)
            table = self.tables[index]
            at_low = ops.take(table, low_index)
            return at_low + fraction * (ops.take(table, high_index) - at_low)

        def call(self, rgb: Any) -> Any:
            x = ops.cast(rgb, self.compute_dtype)
            # Summed in this order everywhere (the fit's cube evaluation too).
            score = (self._channel(0, x[:, 0]) + self._channel(1, x[:, 1])) + self._channel(
                2, x[:, 2]
            )
            score = score + self.bias
            return ops.stack([-0.5 * score, 0.5 * score], axis=-1)

        def get_config(self) -> dict[str, Any]:
            return {**super().get_config(), "seed": self.seed, "init_stddev": self.init_stddev}

    return ChannelTables
