"""Environment-dependent values, read once at an entry point and passed down explicitly."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    # A plain frozen dataclass: every command builds one, and `fontpipe --help` (which needs
    # nothing else of the library) should not pay for importing pydantic.
    data_root: Path = Path("data")
    dask_address: str | None = None
    # --models-dir: a registry somewhere other than under the data root.
    models_dir_override: Path | None = None

    @property
    def datasets_dir(self) -> Path:
        return self.data_root / "datasets"

    @property
    def models_dir(self) -> Path:
        return self.models_dir_override or self.data_root / "models"

    @property
    def reports_dir(self) -> Path:
        return self.data_root / "reports"

    @classmethod
    def from_env(cls, *, models_dir: Path | str | None = None) -> Settings:
        """FONTPIPE_DATA moves everything fontpipe writes; FONTPIPE_DASK_ADDRESS picks a cluster;
        `models_dir` (a command's --models-dir) moves the registry alone."""
        return cls(
            data_root=Path(os.environ.get("FONTPIPE_DATA", "data")),
            dask_address=os.environ.get("FONTPIPE_DASK_ADDRESS") or None,
            models_dir_override=Path(models_dir) if models_dir else None,
        )
