"""fontpipe: learn whether black or white text reads best on a background colour."""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    # Looked up on first use: reading the installed metadata costs a quick look-up ~10 ms.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("fontpipe")
        except PackageNotFoundError:  # running from a source tree that was never installed
            return "0.0.0+unknown"
    raise AttributeError(f"module 'fontpipe' has no attribute {name!r}")
