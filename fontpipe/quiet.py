"""Keep TensorFlow quiet on the CLI: call `import_tensorflow()` instead of `import tensorflow`."""

from __future__ import annotations

# TensorFlow and Keras load on first use: they cost seconds at start-up (python -X importtime), and a look-up never needs them.
import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from types import ModuleType


def quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # C++ INFO/WARNING/ERROR lines
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="keras")
    warnings.filterwarnings("ignore", module="tensorflow")
    if "tensorflow" not in sys.modules:
        with _stderr_silenced():
            import tensorflow
        _grow_gpu_memory(tensorflow)


def _grow_gpu_memory(tf: ModuleType) -> None:
    """Let TensorFlow take GPU memory as it needs it instead of claiming nearly all of it at
    start-up, so a training run shares a GPU with other work. Only possible before TensorFlow
    initialises the GPU, hence here, at its first import."""
    for gpu in tf.config.list_physical_devices("GPU"):
        with contextlib.suppress(RuntimeError, ValueError):
            tf.config.experimental.set_memory_growth(gpu, True)


def import_tensorflow() -> ModuleType:
    quiet_tensorflow()
    import tensorflow

    module: ModuleType = tensorflow
    return module


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the duration.

    TensorFlow's native libraries log through absl before TF_CPP_MIN_LOG_LEVEL is consulted
    ("oneDNN custom operations are on", "Could not find cuda drivers"), straight to fd 2, so
    only silencing the descriptor itself keeps the CLI calm.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (e.g. captured by a test runner)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
