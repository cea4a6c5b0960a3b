"""`fontpipe version`: this package's version and the libraries it runs on."""

from __future__ import annotations

from cli.base import app, emit_json, json_option
from cli.console import console

# The libraries whose versions decide results or behaviour, as their distributions are named.
LIBRARIES = (
    "fontpipe",
    "tensorflow",
    "keras",
    "numpy",
    "pyarrow",
    "coloraide",
    "prefect",
    "distributed",
    "pydantic",
)


@app.command()
def version(as_json: bool = json_option()) -> None:
    """fontpipe's version, Python's, and those of the libraries it runs on."""
    import platform
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = installed(name)
        except PackageNotFoundError:
            found[name] = None
    if as_json:
        emit_json(found)
        return
    width = max(len(name) for name in found)
    for name, value in found.items():
        console.print(f"{name:<{width}}  {value or 'not installed'}")
