"""Process environment defaults for every entry point that runs flows: the `fontpipe` command,
`make run`, `python -m flows.<name>`, `deploy/serve.py` and workers importing `flows/`.

They are applied with `setdefault` before Prefect or TensorFlow is imported, so a value the user
exported always wins. This module is the one place they are written.
"""

from __future__ import annotations

import os
from typing import Final

DEFAULTS: Final[dict[str, str]] = {
    # The ephemeral API server of a brand-new Prefect home migrates its SQLite database before it
    # answers. On 2 busy cores with cold caches that takes longer than Prefect's 20 s default, and
    # the first `make run` on a fresh machine died with "Timed out while attempting to connect".
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    # The telemetry heartbeat writes to the same SQLite file while it is being migrated, and
    # prints a 100-line "database is locked" traceback on a fresh home.
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # TensorFlow's C++ start-up chatter (oneDNN, CUDA probing).
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "KERAS_BACKEND": "tensorflow",
}


def apply_environment_defaults() -> None:
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
