"""The import-labels step: a labelled palette into a `human:<name>` dataset."""

from __future__ import annotations

from pathlib import Path

from fontpipe.data.labels import LabelImport, LabelImportConfig
from fontpipe.data.labels import import_labels as import_label_file


def run(file: Path, out: Path, config: LabelImportConfig, *, force: bool = False) -> LabelImport:
    """A labelled palette (human judgements) into a `human:<name>` dataset to train on."""
    return import_label_file(file, out, config, force=force)
