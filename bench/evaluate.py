"""Cube evaluation speed: fontpipe's chunked XLA cube table + streaming metrics, against the naive
way (model.predict on the whole cube at once, then numpy comparisons), in the same run.

    python bench/evaluate.py

Target on 2 cores: under 10 s for table + metrics, and faster than the naive way.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np
from _common import peak_rss_mb, print_table

from fontpipe.color.cube import compute_cube_table
from fontpipe.color.rules import RULES
from fontpipe.data.datasets import write_dataset
from fontpipe.data.generation import GenerateConfig
from fontpipe.evaluation.metrics import evaluate_cube
from fontpipe.training.config import TrainConfig
from fontpipe.training.train import train_model


def naive(model) -> tuple[float, int]:
    started = time.perf_counter()
    index = np.arange(1 << 24)
    cube = np.stack([index >> 16, (index >> 8) & 255, index & 255], axis=1).astype(np.float32)
    logits = model.predict(cube, batch_size=8192, verbose=0)  # default batch 32 would take minutes
    predicted = logits.argmax(axis=1)
    label = (cube.sum(axis=1) >= 383).astype(int)
    errors = int((predicted != label).sum())
    margin = np.abs(cube.sum(axis=1) - 382.5)
    for edge in RULES["mean"].band_edges:
        _ = (predicted[margin < edge] == label[margin < edge]).mean()
    return time.perf_counter() - started, errors


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="fontpipe-bench-") as tmp:
        dataset, _ = write_dataset(
            GenerateConfig(rows=200_000, sampling="boundary"), Path(tmp) / "ds"
        )
        model = train_model(dataset, TrainConfig(epochs=1)).model
        rss_before = peak_rss_mb()
        started = time.perf_counter()
        table = compute_cube_table(model)
        table_s = time.perf_counter() - started
        evaluation = evaluate_cube(table, RULES["mean"])
        total_s = time.perf_counter() - started
        rss_fontpipe = peak_rss_mb()
        naive_s, naive_errors = naive(model)
        rows = [
            {"way": "fontpipe: cube table", "seconds": table_s},
            {
                "way": "fontpipe: table + all metrics",
                "seconds": total_s,
                "errors": evaluation.errors,
                "peak RSS MB": rss_fontpipe,
                "RSS before MB": rss_before,
            },
            {
                "way": "naive: predict(whole cube) + numpy",
                "seconds": naive_s,
                "errors": naive_errors,
                "peak RSS MB": peak_rss_mb(),
            },
        ]
        print_table(
            "evaluation over all 16,777,216 colours (same run)",
            rows,
            ["way", "seconds", "errors", "peak RSS MB", "RSS before MB"],
        )
        print(f"speed-up: {naive_s / total_s:.1f}x")


if __name__ == "__main__":
    main()
