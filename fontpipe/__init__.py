"""fontpipe: learn whether black or white text reads best on a background colour.

The Python API (see `fontpipe.api` for the details):

    import fontpipe

    model = fontpipe.load_model("champion", rule="wcag")
    table = model.predict(["#00ff7e", "oklch(63.7% 0.237 25.331)"])
    scored = fontpipe.score_table(frame, model=model)      # pandas or Arrow in, same kind out

and `fontpipe.generate`, `fontpipe.train`, `fontpipe.evaluate` with their config models
(`GenerateConfig`, `TrainConfig`). Errors are `fontpipe.FontpipeError`; nothing prints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fontpipe.api import Predictor, evaluate, generate, load_model, score_table, train
    from fontpipe.data.generation import GenerateConfig
    from fontpipe.errors import FontpipeError
    from fontpipe.training.config import TrainConfig

    __version__: str

__all__ = [
    "FontpipeError",
    "GenerateConfig",
    "Predictor",
    "TrainConfig",
    "__version__",
    "evaluate",
    "generate",
    "load_model",
    "score_table",
    "train",
]

# Where each public name lives. They are imported on first use, so `import fontpipe` stays cheap
# for the command line's quick look-ups (numpy, Arrow and Keras load only when needed).
_HOMES = {
    "Predictor": "fontpipe.api",
    "evaluate": "fontpipe.api",
    "generate": "fontpipe.api",
    "load_model": "fontpipe.api",
    "score_table": "fontpipe.api",
    "train": "fontpipe.api",
    "FontpipeError": "fontpipe.errors",
    "GenerateConfig": "fontpipe.data.generation",
    "TrainConfig": "fontpipe.training.config",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from fontpipe.records import package_version

        return package_version()
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'fontpipe' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted(__all__)
