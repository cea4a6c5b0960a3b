"""fontpipe: learn whether black or white text reads best on a background colour."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fontpipe")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
