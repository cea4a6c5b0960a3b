"""The question's recipe, trained in the same run as a reference for the report."""

from __future__ import annotations

# TensorFlow and Keras load on first use: they cost seconds at start-up (python -X importtime), and a look-up never needs them.
import time
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from fontpipe.data.generation import rule_rows
from fontpipe.model import ModelConfig, build_model
from fontpipe.quiet import import_tensorflow
from fontpipe.schema import DEFAULT_RULE

if TYPE_CHECKING:
    import keras


class OriginalRecipe(BaseModel):
    """The fixed network of the original question, as a reference: 10-10-5 ReLU, He init, Adam
    0.01, 5,000 steps of 128 on 10,000 uniform float rows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rows: int = 10_000
    steps: int = 5_000
    batch_size: int = 128
    learning_rate: float = 0.01
    seed: int = 0
    rule: str = DEFAULT_RULE


def train_original_recipe(recipe: OriginalRecipe = OriginalRecipe()) -> tuple[keras.Model, float]:
    """The reference model and its training wall time in seconds."""

    tf = import_tensorflow()
    import keras

    rows = rule_rows(recipe.rows, recipe.rule, "uniform-float", recipe.seed)
    keras.utils.set_random_seed(recipe.seed)
    model = build_model(ModelConfig(), seed=recipe.seed)
    model.compile(
        optimizer=keras.optimizers.Adam(recipe.learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    data = (
        tf.data.Dataset.from_tensor_slices((rows.rgb.astype("float32"), rows.label.astype("int32")))
        .shuffle(recipe.rows, seed=recipe.seed)
        .repeat()
        .batch(recipe.batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    started = time.perf_counter()
    model.fit(data, steps_per_epoch=recipe.steps, epochs=1, verbose=0)
    return model, time.perf_counter() - started
