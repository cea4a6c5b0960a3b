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
from typing import TYPE_CHECKING, Literal

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
# Steps run per call into TensorFlow: Keras otherwise returns to Python after every batch of
# 128, which costs more than the batch itself for a network this small.
STEPS_PER_EXECUTION = 1000
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


def _squared_error_on_softmax(label: object, logits: object) -> object:
    import keras

    tf = import_tensorflow()
    one_hot = tf.one_hot(tf.cast(tf.reshape(label, [-1]), tf.int32), 2)
    return keras.ops.mean(keras.ops.square(one_hot - keras.ops.softmax(logits)), axis=-1)


def train_recipe(recipe: Recipe = Recipe()) -> tuple[keras.Model, float]:
    """The recipe's model, trained, and its training wall time in seconds."""

    tf = import_tensorflow()
    import keras

    rows = rule_rows(recipe.rows, recipe.rule, "uniform-float", recipe.seed)
    keras.utils.set_random_seed(recipe.seed)
    if recipe.name == "question":
        model = question_network(recipe.seed)
        model.compile(
            optimizer=keras.optimizers.Adadelta(learning_rate=QUESTION_LEARNING_RATE),
            loss=_squared_error_on_softmax,
            steps_per_execution=STEPS_PER_EXECUTION,
            jit_compile=True,
        )
    else:
        model = build_model(ModelConfig(), seed=recipe.seed)
        model.compile(
            optimizer=keras.optimizers.Adam(recipe.learning_rate),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            steps_per_execution=STEPS_PER_EXECUTION,
            jit_compile=True,
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
