"""Column names, dtypes and label meanings, declared once for every stage."""

from __future__ import annotations

from typing import Final, Literal

import pyarrow as pa

# Colour channels, 0-255. uint8 for integer sampling, float32 for the original question's
# continuous sampling.
CHANNELS: Final = ("r", "g", "b")
LABEL: Final = "label"
SPLIT: Final = "split"

# label == 1 means black text reads best on that background, 0 means white text.
BLACK: Final = 1
WHITE: Final = 0
TEXT_COLOR_NAMES: Final = {BLACK: "black", WHITE: "white"}

Split = Literal["train", "val", "test"]
SPLITS: Final[tuple[Split, ...]] = ("train", "val", "test")

Sampling = Literal["uniform-int", "uniform-float", "boundary"]
SAMPLINGS: Final[tuple[Sampling, ...]] = ("uniform-int", "uniform-float", "boundary")

# The 24-bit cube, indexed r<<16 | g<<8 | b.
CUBE_SIZE: Final = 1 << 24

# Scoring output columns.
P_BLACK: Final = "p_black"
TEXT_COLOR: Final = "text_color"
CONTRAST_RATIO: Final = "contrast_ratio"
WCAG_AA: Final = "wcag_aa"
MODEL_VERSION: Final = "model_version"
WCAG_AA_RATIO: Final = 4.5


def channel_type(sampling: Sampling) -> pa.DataType:
    return pa.float32() if sampling == "uniform-float" else pa.uint8()


def dataset_schema(sampling: Sampling) -> pa.Schema:
    """Schema of one Parquet file; `split` comes from the hive partition directory."""
    channel = channel_type(sampling)
    return pa.schema([(c, channel) for c in CHANNELS] + [(LABEL, pa.int8())])
