"""A partitioned output's commit files, the same on a local disk and on a store.

Readers (pyarrow.dataset, Dask, DuckDB, Spark) skip names that start with "_"; they should trust
an output only when `_SUCCESS` is there, and read the files `_manifest.json` lists.
"""

from __future__ import annotations

from typing import Any

from fontpipe.scoring.plan import ScoreJob

DATASET_OUTPUT_FORMAT = "fontpipe-scored-dataset/1"
MANIFEST_FILE = "_manifest.json"
SUCCESS_FILE = "_SUCCESS"


def dataset_manifest(job: ScoreJob, files: list[dict[str, Any]]) -> dict[str, Any]:
    """`_manifest.json`: the dataset's files (name and rows, in order), the model version that
    scored them and the columns."""
    return {
        "format": DATASET_OUTPUT_FORMAT,
        "model_version": job.version,
        "rows": sum(f["rows"] for f in files),
        "files": files,
        "columns": [*job.names, *job.output_columns],
    }
