"""The export step: a model version out of Python."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fontpipe.export import export_model, export_paths
from fontpipe.quiet import quiet_tensorflow
from fontpipe.registry.champions import (
    resolve_model,
)
from fontpipe.registry.versions import ModelVersion, open_version
from fontpipe.settings import Settings


@dataclass(frozen=True)
class Export:
    version: ModelVersion
    paths: list[Path]  # the export, then what it wrote beside it (the .js of a json export)


def run(
    model: str,
    export_format: str,
    out: Path,
    settings: Settings,
    *,
    rule: str,
    force: bool = False,
) -> Export:
    """A model version out of Python: SavedModel, ONNX, LiteRT, or JSON plus JavaScript. What is
    already at `out` is replaced only with `force`."""

    quiet_tensorflow()
    version = open_version(resolve_model(model, settings.models_dir, rule))
    written = export_model(version, export_format, out, force=force)
    extra = export_paths(export_format, written)[1:] if export_format == "json" else []
    return Export(version, [written, *extra])
