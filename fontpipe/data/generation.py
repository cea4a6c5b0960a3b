"""Synthetic, seeded RGB datasets labelled by a rule. Pure: returns arrays, writes nothing.

Row content depends only on (seed, split, chunk index, chunk size and the other parameters in
`GenerateConfig`), so any chunk can be regenerated alone and two runs with one config are
byte-identical.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fontpipe.color.cube import cube_colours
from fontpipe.color.rules import RULES, Rule, get_rule
from fontpipe.data.splits import in_split, rounded_index
from fontpipe.errors import FontpipeError, build_config
from fontpipe.schema import CUBE_SIZE, DEFAULT_RULE, SPLITS, Sampling, Split

# Bumped whenever the same config would produce different rows, so old datasets are not reused.
# 2: every colour belongs to one split (`fontpipe.data.splits`); `cube` has no val or test.
GENERATOR_VERSION = 2
_SPLIT_STREAM = {name: index for index, name in enumerate(SPLITS)}


def check_split_fractions(
    cls: type, value: tuple[float, float, float]
) -> tuple[float, float, float]:
    """train, val and test fractions: none negative, summing to 1 (a pydantic validator)."""
    if any(f < 0 for f in value) or abs(sum(value) - 1.0) > 1e-9:
        raise ValueError(f"split fractions must be >= 0 and sum to 1, got {value}")
    return value


class GenerateConfig(BaseModel):
    """Everything that decides a dataset's rows. Frozen, so it can key caches and fingerprints."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rows: int = Field(1_000_000, gt=0, description="total rows over all splits")
    rule: str = DEFAULT_RULE
    sampling: Sampling = "uniform-int"
    seed: int = Field(0, ge=0)
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    # boundary sampling: this share of rows lies within `boundary_width` of the rule's boundary
    # (in margin units; None takes the rule's default), the rest is uniform-int outside it.
    boundary_share: float = Field(0.5, ge=0.0, le=1.0)
    boundary_width: float | None = Field(None, gt=0, allow_inf_nan=False)
    rows_per_file: int = Field(1_000_000, gt=0)

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, value: str) -> str:
        get_rule(value)
        return value

    _fractions = field_validator("split_fractions")(check_split_fractions)

    @model_validator(mode="after")
    def _train_not_empty(self) -> GenerateConfig:
        if self.split_rows()["train"] == 0:
            raise ValueError("the train split would be empty: raise --rows or the train fraction")
        return self

    def split_rows(self) -> dict[Split, int]:
        """Exact rows per split; rounding leftovers go to train so the total is `rows`.

        `cube` sampling is an exact fit of the whole domain: the train split is every colour of
        the 24-bit cube once, in index order, so no colour is left to validate or test on and
        val and test are empty (evaluation then reports a training fit, labelled as one)."""
        if self.sampling == "cube":
            return {"train": CUBE_SIZE, "val": 0, "test": 0}
        val = round(self.rows * self.split_fractions[1])
        test = round(self.rows * self.split_fractions[2])
        return {"train": self.rows - val - test, "val": val, "test": test}

    def params_hash(self) -> str:
        """Hash of what decides the rows: equal hashes mean an existing dataset can be reused."""
        payload = {"generator_version": GENERATOR_VERSION, **self.model_dump(mode="json")}
        blob = json.dumps(payload, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    @property
    def rule_def(self) -> Rule:
        return RULES[self.rule]


def default_dataset_name(config: GenerateConfig) -> str:
    """Readable and unique per parameter set, so two configs never share a directory."""
    return f"{config.rule}-{config.sampling}-{config.rows}-{config.params_hash()[:8]}"


def parse_generate_config(**values: Any) -> GenerateConfig:
    return build_config(GenerateConfig, **values)


@dataclass(frozen=True)
class Chunk:
    split: Split
    index: int
    rgb: npt.NDArray[np.uint8] | npt.NDArray[np.float32]  # (n, 3)
    label: npt.NDArray[np.int8]  # (n,)


def _rng(config: GenerateConfig, split: Split, chunk_index: int) -> np.random.Generator:
    seq = np.random.SeedSequence([config.seed, _SPLIT_STREAM[split], chunk_index])
    return np.random.Generator(np.random.PCG64DXSM(seq))


def _uniform_int(rng: np.random.Generator, n: int) -> npt.NDArray[np.uint8]:
    # Every byte value is equally likely, so raw random bytes are exactly uniform over 0-255,
    # and several times faster than integers(0, 256).
    return np.frombuffer(rng.bytes(3 * n), dtype=np.uint8).reshape(n, 3)


def _uniform_float(rng: np.random.Generator, n: int) -> npt.NDArray[np.float32]:
    values = rng.random((n, 3), dtype=np.float32)
    values *= np.float32(255.0)
    return values


def _draw(
    rng: np.random.Generator,
    n: int,
    candidates: Callable[[np.random.Generator, int], npt.NDArray[Any]],
    keep: Callable[[npt.NDArray[Any]], npt.NDArray[np.bool_]],
    what: str,
) -> npt.NDArray[Any]:
    """n distinct colours from `candidates` that pass `keep`, by vectorised rejection: a
    colour drawn twice teaches nothing new, so a chunk never repeats one. Batches grow with
    the share of candidates kept so far, so a narrow band costs a few large batches."""
    picked = candidates(rng, 0)
    drawn_total, kept_total, stalled = 0, 0, 0
    while len(picked) < n:
        rate = max(kept_total, 1) / max(drawn_total, 1) if drawn_total else 1 / 8
        batch = int(min(max((n - len(picked)) / rate * 1.3, 65_536), 1 << 24))
        drawn = candidates(rng, batch)
        kept = drawn[keep(drawn)]
        drawn_total, kept_total = drawn_total + batch, kept_total + len(kept)
        pool = np.concatenate([picked, kept])
        _, first = np.unique(rounded_index(pool), return_index=True)
        grown = pool[np.sort(first)][:n]
        stalled = stalled + 1 if len(grown) == len(picked) else 0
        if stalled == 3:
            raise FontpipeError(f"too few colours to draw {n:,} distinct ones from: {what}")
        picked = grown
    return picked


def band_width_holding(rule: Rule, share: float) -> float:
    """The |margin| within which `share` of the cube's colours lie, estimated from a fixed
    sample of 2^20 uniform colours (the same answer every time)."""
    sample = _uniform_int(np.random.Generator(np.random.PCG64DXSM(0)), 1 << 20)
    return float(np.quantile(np.abs(rule.margin(sample)), share))


def chunk_rows(total: int, rows_per_chunk: int) -> list[int]:
    full, rest = divmod(total, rows_per_chunk)
    return [rows_per_chunk] * full + ([rest] if rest else [])


def generate_chunk(config: GenerateConfig, split: Split, index: int, n: int) -> Chunk:
    rng = _rng(config, split, index)
    rule = config.rule_def
    rgb: npt.NDArray[np.uint8] | npt.NDArray[np.float32]
    if config.sampling == "cube":
        start = index * config.rows_per_file
        rgb = cube_colours(start, start + n)
        return Chunk(split=split, index=index, rgb=rgb, label=rule.label(rgb))

    def ours(colours: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
        return in_split(colours, split, config.seed, config.split_fractions)

    if config.sampling == "uniform-float":
        rgb = _draw(rng, n, _uniform_float, ours, f"the {split} split")
    elif config.sampling == "boundary":
        near = round(n * config.boundary_share)
        width = config.boundary_width or rule.boundary_width

        def ours_and(inside: bool) -> Callable[[npt.NDArray[Any]], npt.NDArray[np.bool_]]:
            """Colours of this split inside (or outside) the band. The band first: the
            split's hash costs more than most rules' margins."""

            def keep(colours: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
                mask: npt.NDArray[np.bool_] = (np.abs(rule.margin(colours)) < width) == inside
                mask[mask] = ours(colours[mask])
                return mask

            return keep

        what = f"boundary width {width} is too narrow for rule {rule.name!r}"
        # The rest uniform outside the band: exactly `boundary_share` of the rows lie in it,
        # and the two parts never draw the same colour.
        mixed = np.concatenate(
            [
                _draw(rng, near, _uniform_int, ours_and(inside=True), what),
                _draw(rng, n - near, _uniform_int, ours_and(inside=False), f"the {split} split"),
            ]
        )
        rgb = mixed[rng.permutation(n)]
    else:
        rgb = _draw(rng, n, _uniform_int, ours, f"the {split} split")
    return Chunk(split=split, index=index, rgb=rgb, label=rule.label(rgb))


def iter_chunks(config: GenerateConfig) -> Iterator[Chunk]:
    """Every chunk of the dataset, split by split; each chunk becomes one Parquet file."""
    for split, rows in config.split_rows().items():
        for index, n in enumerate(chunk_rows(rows, config.rows_per_file)):
            yield generate_chunk(config, split, index, n)


def rule_rows(rows: int, rule: str, sampling: Sampling, seed: int) -> Chunk:
    """`rows` colours labelled by `rule`, all in memory (a prior's rows, a baseline's data)."""
    config = GenerateConfig(
        rows=rows, rule=rule, sampling=sampling, seed=seed, split_fractions=(1.0, 0.0, 0.0)
    )
    return generate_rows(config)


def generate_rows(config: GenerateConfig, split: Split = "train") -> Chunk:
    """All rows of one split in memory: for small datasets, tests and baselines."""
    chunks = [c for c in iter_chunks(config) if c.split == split]
    if not chunks:
        empty = np.zeros(
            (0, 3), dtype=np.float32 if config.sampling == "uniform-float" else np.uint8
        )
        return Chunk(split=split, index=0, rgb=empty, label=np.zeros(0, dtype=np.int8))
    return Chunk(
        split=split,
        index=0,
        rgb=np.concatenate([c.rgb for c in chunks]),
        label=np.concatenate([c.label for c in chunks]),
    )
