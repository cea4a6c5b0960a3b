"""The training config (`TrainConfig`) and how it compiles a Keras model: Adam with a cosine or
exponential learning-rate schedule, softmax cross-entropy on two logits.

The defaults are the ones that reach zero errors on the whole 24-bit cube for the `mean` rule on
a 1 M-row boundary dataset: the proven 10-10-5 ReLU network, Adam at 0.01 decayed by a cosine
schedule to 1 % over the run, batches of 512, 3 epochs.
"""

from __future__ import annotations

# TensorFlow and Keras load on first use: they cost seconds at start-up (python -X importtime), and a look-up never needs them.
import hashlib
import json
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fontpipe.color.rules import get_rule
from fontpipe.errors import build_config
from fontpipe.model import ModelConfig
from fontpipe.training.inputs import InputConfig

if TYPE_CHECKING:
    import keras


class TrainConfig(BaseModel):
    """How to train: the model family and its optimiser settings. Frozen; part of the run key
    that lets an interrupted run resume."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: ModelConfig = ModelConfig()
    inputs: InputConfig = InputConfig()
    epochs: int = Field(3, gt=0)
    learning_rate: float = Field(0.01, gt=0, allow_inf_nan=False)
    schedule: Literal["cosine", "exponential", "constant"] = "cosine"
    # The learning rate at the end of the run, as a fraction of the start (cosine, exponential).
    final_lr_fraction: float = Field(0.01, gt=0, le=1)
    early_stopping_patience: int = Field(2, ge=1)
    seed: int = Field(0, ge=0)
    device: str = "auto"
    deterministic: bool = False
    # channel-tables only: the most Newton steps (it stops earlier, once every training colour
    # is right and a few more steps have widened the margin).
    max_newton_steps: int = Field(60, gt=0)
    # Mixing in a rule (mlp only): a human-label dataset is small, so `prior_rows` uniform
    # colours labelled by the `prior` rule supply the rest of the cube, together carrying
    # `prior_weight` of the training signal (the human rows carry the rest).
    prior: str | None = None
    prior_weight: float = Field(0.3, ge=0.0, lt=1.0)
    prior_rows: int = Field(200_000, gt=0)

    @field_validator("prior")
    @classmethod
    def _known_prior(cls, value: str | None) -> str | None:
        if value is not None:
            get_rule(value)
        return value

    def run_key(self, dataset_fingerprint: str) -> str:
        """Identifies 'the same training run' so an interrupted one can resume from its backup."""
        blob = json.dumps([self.model_dump(mode="json"), dataset_fingerprint], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def parse_train_config(**values: Any) -> TrainConfig:
    return build_config(TrainConfig, **values)


def learning_rate_schedule(config: TrainConfig, total_steps: int) -> Any:
    import keras

    if config.schedule == "constant":
        return config.learning_rate
    if config.schedule == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(
            config.learning_rate,
            decay_steps=max(total_steps, 1),
            decay_rate=config.final_lr_fraction,
        )
    return keras.optimizers.schedules.CosineDecay(
        config.learning_rate, decay_steps=max(total_steps, 1), alpha=config.final_lr_fraction
    )


def compile_model(
    model: keras.Model, config: TrainConfig, total_steps: int, jit_compile: bool
) -> None:
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate_schedule(config, total_steps)),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        jit_compile=jit_compile,
    )
