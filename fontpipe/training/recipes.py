"""The seed of the project, reproducible: the question's network and the accepted answer's fix.

The question asked why an MLP "always returned 0.5". Its network, as written: sigmoid hidden
layers initialised from N(0, 1), squared error, Adadelta, raw 0-255 inputs. Raw inputs of
that size saturate every sigmoid of the first layer, so the gradient vanishes and the output
is one constant whatever the colour: the report shows its P(black) barely moving over the
cube. The answer's fix, and fontpipe's `mlp` family: ReLU with He initialisation, softmax
cross-entropy, Adam, inputs scaled to [-1, 1]. Both train here on 10,000 uniform float colours
labelled by a rule, as references beside a model in the evaluation report.
"""

from __future__ import annotations

# TensorFlow and Keras load on first use: they cost seconds at start-up (python -X importtime), and a look-up never needs them.
import time
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from fontpipe.data.generation import rule_rows
from fontpipe.model import ModelConfig, build_model
from fontpipe.quiet import import_tensorflow
from fontpipe.schema import DEFAULT_RULE

if TYPE_CHECKING:
    import keras

RecipeName = Literal["answer", "question"]
RECIPE_NAMES: tuple[RecipeName, ...] = ("answer", "question")
RECIPE_TITLES = {
    "answer": "the answer's recipe (10-10-5 ReLU, Adam)",
    "question": "the question's recipe (10-10-5 sigmoid, N(0,1), MSE, Adadelta, raw 0-255)",
}
# The question's Adadelta ran with its library's default learning rate, 0.001 (TensorFlow's
# then, Keras' now): with saturated sigmoids, too small a step to ever leave the constant.
QUESTION_LEARNING_RATE = 0.001


class Recipe(BaseModel):
    """A fixed recipe of the question (`name`): 10-10-5 hidden units, 5,000 steps of 128 on
    10,000 uniform float rows labelled by `rule`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: RecipeName = "answer"
    rows: int = 10_000
    steps: int = 5_000
    batch_size: int = 128
    learning_rate: float = 0.01  # the answer's Adam
    seed: int = 0
    rule: str = DEFAULT_RULE

    @property
    def title(self) -> str:
        return RECIPE_TITLES[self.name]


def question_network(seed: int) -> keras.Model:
    """The question's network as written: raw 0-255 inputs, sigmoid hidden layers with N(0, 1)
    weights, two outputs (logits here; its squared error is taken on their softmax)."""
    import keras

    inputs = keras.Input(shape=(3,), dtype="float32", name="rgb")
    x = inputs
    for index, width in enumerate(ModelConfig().hidden):
        x = keras.layers.Dense(
            width,
            activation="sigmoid",
            kernel_initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=seed + index),
            bias_initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=seed + 100 + index),
            name=f"sigmoid_{index}",
        )(x)
    logits = keras.layers.Dense(
        2,
        kernel_initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=seed + 50),
        name="logits",
    )(x)
    return keras.Model(inputs, logits, name="question_recipe")


def _squared_error_on_softmax(label: Any, logits: Any) -> Any:
    import keras

    tf = import_tensorflow()
    one_hot = tf.one_hot(tf.cast(tf.reshape(label, [-1]), tf.int32), 2)
    return keras.ops.mean(keras.ops.square(one_hot - keras.ops.softmax(logits)))


def recipe_batches(recipe: Recipe) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]:
    """The recipe's `steps` batches, (steps, batch, 3) colours and (steps, batch) labels: its
    rows reshuffled each epoch from the seed, as Keras' shuffled epochs would feed them."""
    rows = rule_rows(recipe.rows, recipe.rule, "uniform-float", recipe.seed)
    rng = np.random.default_rng(recipe.seed)
    needed = recipe.steps * recipe.batch_size
    epochs = -(-needed // recipe.rows)
    order = np.concatenate([rng.permutation(recipe.rows) for _ in range(epochs)])[:needed]
    rgb = rows.rgb.astype(np.float32)[order].reshape(recipe.steps, recipe.batch_size, 3)
    label = rows.label.astype(np.int32)[order].reshape(recipe.steps, recipe.batch_size)
    return rgb, label


def train_recipe(recipe: Recipe = Recipe()) -> tuple[keras.Model, float]:
    """The recipe's model, trained, and its training wall time in seconds."""

    tf = import_tensorflow()
    import keras

    keras.utils.set_random_seed(recipe.seed)
    if recipe.name == "question":
        model = question_network(recipe.seed)
        optimizer = keras.optimizers.Adadelta(learning_rate=QUESTION_LEARNING_RATE)
        loss_of = _squared_error_on_softmax
    else:
        model = build_model(ModelConfig(), seed=recipe.seed)
        optimizer = keras.optimizers.Adam(recipe.learning_rate)
        loss_of = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    rgb, label = recipe_batches(recipe)
    optimizer.build(model.trainable_variables)

    # The whole run as one XLA-compiled loop: a step of this network is microseconds of
    # arithmetic, and Keras' fit spends a millisecond a step around it (5.9 s against 1.6 s).
    @tf.function(jit_compile=True)  # type: ignore[untyped-decorator]
    def run(rgb: Any, label: Any) -> Any:
        loss = tf.constant(0.0)
        for step in tf.range(recipe.steps):
            with tf.GradientTape() as tape:
                loss = loss_of(label[step], model(rgb[step], training=True))
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return loss

    started = time.perf_counter()
    run(tf.constant(rgb), tf.constant(label))
    return model, time.perf_counter() - started
