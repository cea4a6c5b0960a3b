"""The cube table of a (hand-set) Keras model."""

from __future__ import annotations

import numpy as np

from fontpipe.color.cube import compute_cube_table
from fontpipe.color.rules import RULES
from fontpipe.evaluation.metrics import evaluate_cube
from fontpipe.model import ModelConfig, build_model

MEAN = RULES["mean"]


def test_cube_table_of_an_exact_keras_model():
    # Hidden units relu(+s) and relu(-s) of s = sum of the [-1, 1]-scaled channels, which is 0
    # exactly on the mean boundary; the black logit is their scaled difference.
    model = build_model(ModelConfig(hidden=(2,)), seed=0)
    hidden = model.get_layer("hidden_0")
    hidden.set_weights([np.array([[1.0, -1.0]] * 3, dtype=np.float32), np.zeros(2, np.float32)])
    model.get_layer("logits").set_weights(
        [np.array([[0.0, 1000.0], [0.0, -1000.0]], dtype=np.float32), np.zeros(2, np.float32)]
    )
    evaluation = evaluate_cube(compute_cube_table(model), MEAN).model_dump()
    assert evaluation["errors"] == 0
