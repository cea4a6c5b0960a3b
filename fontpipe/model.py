"""The one model factory: raw 0-255 RGB in, two logits (white, black) out.

The fix for the original "always returns 0.5" network, kept whole: inputs scaled to [-1, 1] inside
the model, ReLU hidden layers with He initialisation, two logits trained with softmax
cross-entropy by Adam.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, field_validator

if TYPE_CHECKING:
    import keras


class ModelConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    hidden: tuple[int, ...] = (10, 10, 5)

    @field_validator("hidden")
    @classmethod
    def _positive_widths(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value:
            raise ValueError("at least one hidden layer is needed")
        if any(width <= 0 for width in value):
            raise ValueError(f"every hidden layer needs a positive width, got {value}")
        return value


def build_model(config: ModelConfig, seed: int) -> keras.Model:
    """An uncompiled Keras model; `seed` fixes the He-normal initial weights."""
    import keras

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
