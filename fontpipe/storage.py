"""Where a file lives: a local path, or a URL of any filesystem pyarrow or fsspec understands.

`s3://`, `gs://`, `abfs://` / `abfss://` and `file://` go to pyarrow's own filesystems (C++,
multi-threaded, ranged reads for Parquet row groups); any other protocol that an installed fsspec
implementation registers (`memory://`, `hdfs://`, read-only `https://`, ...) goes through fsspec,
wrapped so that the same calls serve both.

Credentials are each store's own: the standard environment variables and configuration files
(`AWS_ACCESS_KEY_ID`, `AWS_PROFILE`, `~/.aws/`, `AWS_ENDPOINT_URL` for an S3-compatible server;
`GOOGLE_APPLICATION_CREDENTIALS`; `AZURE_STORAGE_ACCOUNT_KEY` and the rest of Azure's chain).
fontpipe passes none and writes none anywhere: job files and manifests hold URLs only.

An object store has no rename and no directory: what is atomic there is one object's PUT (a
multipart upload appears only when it completes). Writers in fontpipe that target a store
therefore write each object whole and commit a set of objects with a marker written last.
"""

from __future__ import annotations

# fsspec loads on first use (about 0.25 s at start-up): only protocols pyarrow lacks need it.
import functools
import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.fs as pafs

from fontpipe.errors import FontpipeError

# The schemes pyarrow resolves itself; anything else is offered to fsspec.
_ARROW_SCHEMES = {"s3", "gs", "gcs", "abfs", "abfss", "file"}
_GLOB_CHARS = "*?["


def is_url(location: str | Path) -> bool:
    """A `scheme://` location (a one-letter scheme is a Windows drive, not a URL)."""
    if isinstance(location, Path):
        return False
    scheme = location.split("://", 1)[0] if "://" in location else ""
    return len(scheme) > 1 and scheme.replace("+", "").replace("-", "").isalnum()


# A URL that went through pathlib lost one slash of its `//` ("s3://bucket/models" became
# Path("s3:/bucket/models")), as a command-line option typed Path or a Settings field does to it.
_FOLDED_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+):/([^/].*)?\Z")


def store_url(location: str | Path) -> str | None:
    """The URL of a location on a store (not `file://`), or None for a local one. A URL whose
    `//` pathlib folded into `/` is recognised, when its scheme names a store pyarrow or an
    installed fsspec implementation knows: a local folder named like `s3:` is never one."""
    text = str(location)
    if not isinstance(location, Path) and is_url(text):
        return None if text.startswith("file://") else text
    folded = _FOLDED_URL.match(text.replace("\\", "/"))
    if folded is None:
        return None
    scheme = folded.group(1).lower()
    if scheme == "file" or not _known_scheme(scheme):
        return None
    return f"{scheme}://{folded.group(2) or ''}"


def _known_scheme(scheme: str) -> bool:
    if scheme in _ARROW_SCHEMES:
        return True
    try:
        import fsspec
    except ImportError:
        return False
    return scheme in fsspec.available_protocols()


def local_path(location: str | Path) -> Path | None:
    """The local path a location names (`file://` URLs included), or None for a remote URL."""
    if isinstance(location, Path):
        return location
    if not is_url(location):
        return Path(location)
    if location.startswith("file://"):
        return Path(urlsplit(location).path)
    return None


def name_of(location: str | Path) -> PurePosixPath:
    """The location's path part, for its file name and suffixes."""
    if isinstance(location, Path) or not is_url(location):
        return PurePosixPath(Path(location).as_posix())
    return PurePosixPath(urlsplit(location).path)


def join(base: str, relative: str) -> str:
    """`relative` (a /-separated path) under the URL `base`, keeping base's query string."""
    parts = urlsplit(base)
    path = parts.path.rstrip("/") + "/" + relative.lstrip("/")
    return _unsplit(parts.scheme, parts.netloc, path, parts.query, parts.fragment)


def without_trailing_slash(url: str) -> str:
    parts = urlsplit(url)
    return _unsplit(parts.scheme, parts.netloc, parts.path.rstrip("/"), parts.query, parts.fragment)


def _unsplit(scheme: str, netloc: str, path: str, query: str, fragment: str) -> str:
    """urlunsplit, except that a URL with no host keeps its `//` (`memory:///x`, not
    `memory:/x`, which would read as a local path)."""
    url = urlunsplit((scheme, netloc, path, query, fragment))
    if scheme and not netloc and not url.startswith(f"{scheme}://"):
        url = f"{scheme}://{url[len(scheme) + 1 :]}"
    return url


_filesystems_lock = threading.Lock()


@functools.lru_cache(maxsize=64)
def _arrow_root(scheme: str, netloc: str, query: str) -> tuple[pafs.FileSystem, str]:
    # One filesystem per bucket or container: pyarrow may look up an S3 bucket's region when it
    # resolves a URI, so that happens once per process, not per file.
    url = urlunsplit((scheme, netloc, "/", query, ""))
    filesystem, root = pafs.FileSystem.from_uri(url)
    return filesystem, root.rstrip("/")


def resolve(url: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem holding `url` and the path within it."""
    parts = urlsplit(url)
    try:
        if parts.scheme in _ARROW_SCHEMES:
            if parts.scheme == "file":
                return pafs.LocalFileSystem(), parts.path
            with _filesystems_lock:
                filesystem, root = _arrow_root(parts.scheme, parts.netloc, parts.query)
            return filesystem, f"{root}/{parts.path.lstrip('/')}".rstrip("/")
        import fsspec

        fs, path = fsspec.core.url_to_fs(url)
        return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), str(path)
    except (ValueError, ImportError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise FontpipeError(f"{url}: no filesystem for this URL ({exc})") from None
    except OSError as exc:
        raise FontpipeError(f"{url}: cannot reach the store ({exc})") from None


def store_error(url: str, exc: BaseException, doing: str = "read") -> FontpipeError:
    """One line for a store that refused: missing object, no credentials, no such bucket."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return FontpipeError(f"{url}: cannot {doing} ({text})")


def _info(url: str) -> pafs.FileInfo:
    filesystem, path = resolve(url)
    try:
        return filesystem.get_file_info(path)
    except OSError as exc:
        raise store_error(url, exc) from None


def exists(url: str) -> bool:
    return bool(_info(url).type != pafs.FileType.NotFound)


def is_file(url: str) -> bool:
    return bool(_info(url).type == pafs.FileType.File)


def file_identity(location: str | Path) -> tuple[str, int, int]:
    """What identifies a file's contents for resuming a job: its location, size and mtime."""
    path = local_path(location)
    if path is not None:
        stat = path.stat()
        return str(path.resolve()), stat.st_size, stat.st_mtime_ns
    info = _info(str(location))
    return str(location), int(info.size or 0), int(info.mtime_ns or 0)


def list_files(url: str) -> list[str]:
    """Every file under the prefix `url`, as URLs, sorted; [] when there is none."""
    filesystem, base = resolve(url)
    try:
        infos = filesystem.get_file_info(
            pafs.FileSelector(base, recursive=True, allow_not_found=True)
        )
    except OSError as exc:
        raise store_error(url, exc, "list") from None
    found = [
        join(url, info.path[len(base) :].lstrip("/"))
        for info in infos
        if info.type == pafs.FileType.File
    ]
    return sorted(found)


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob over /-separated keys: `*`, `?` and `[...]` stay within one segment; `**` spans
    any number of them."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (close := pattern.find("]", i + 2)) > 0:
            body = pattern[i + 1 : close]
            body = "^" + body[1:] if body.startswith("!") else body
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = close + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def glob(url: str) -> list[str]:
    """The files a URL glob matches (`s3://bucket/day=*/part-*.parquet`), sorted."""
    parts = urlsplit(url)
    first = min(parts.path.find(c) for c in _GLOB_CHARS if c in parts.path)
    base_path = parts.path[: parts.path.rfind("/", 0, first) + 1]
    base = urlunsplit((parts.scheme, parts.netloc, base_path, parts.query, ""))
    matcher = _glob_regex(parts.path[len(base_path) :])
    return [
        found for found in list_files(base) if matcher.match(urlsplit(found).path[len(base_path) :])
    ]


def has_glob(location: str) -> bool:
    return any(ch in location for ch in _GLOB_CHARS)


def open_random_access(location: str | Path) -> pa.NativeFile:
    """A file for ranged reads: memory-mapped when local, ranged GETs on a store."""
    path = local_path(location)
    if path is not None:
        return pa.memory_map(str(path))
    filesystem, inner = resolve(str(location))
    try:
        return filesystem.open_input_file(inner)
    except OSError as exc:
        raise store_error(str(location), exc) from None


def open_stream(location: str | Path, compression: str | None = None) -> pa.NativeFile:
    """A file read front to back, decompressed with `compression` (Arrow's codec name)."""
    path = local_path(location)
    if path is not None:
        return pa.input_stream(str(path), compression=compression)
    filesystem, inner = resolve(str(location))
    try:
        return filesystem.open_input_stream(inner, compression=compression)
    except OSError as exc:
        raise store_error(str(location), exc) from None


def read_bytes(location: str | Path) -> bytes:
    with open_stream(location) as stream:
        data: bytes = stream.read()
    return data


def read_text(location: str | Path) -> str:
    return read_bytes(location).decode("utf-8-sig")


def copy_range(source: int, target: int, start: int, length: int) -> None:
    """`length` bytes of the local file `source` from `start`, appended at `target`'s position
    (both file descriptors): inside the kernel where it can (copy_file_range), else through a
    buffer, carrying on from wherever the kernel copy stopped."""
    copied = 0
    try:
        while copied < length:
            step = os.copy_file_range(source, target, length - copied, start + copied)
            if step == 0:
                break
            copied += step
    except (AttributeError, OSError):  # no such call here, or not between these filesystems
        pass
    while copied < length:
        block = os.pread(source, min(8 << 20, length - copied), start + copied)
        if not block:
            raise OSError(f"a file ended {length - copied} bytes early while it was copied")
        view = memoryview(block)
        while view:
            view = view[os.write(target, view) :]
        copied += len(block)


def get_file(location: str | Path, target: Path) -> None:
    """Download an object (or copy a file) to the local path `target`, streamed."""
    with open_stream(location) as stream, target.open("wb") as handle:
        while block := stream.read(8 << 20):
            handle.write(block)


def put_bytes(url: str, data: bytes) -> None:
    """One object, whole: it appears complete or not at all."""
    filesystem, path = resolve(url)
    try:
        with filesystem.open_output_stream(path) as stream:
            stream.write(data)
    except OSError as exc:
        raise store_error(url, exc, "write") from None


def put_file(source: Path, url: str) -> None:
    """Upload a local file as one object (a multipart upload when large; it appears whole)."""
    filesystem, path = resolve(url)
    try:
        with source.open("rb") as handle, filesystem.open_output_stream(path) as stream:
            shutil.copyfileobj(handle, stream, 8 << 20)
    except OSError as exc:
        raise store_error(url, exc, "write") from None


def delete_files(urls: Iterator[str] | list[str]) -> None:
    for url in urls:
        _delete(url, prefix=False)


def delete_prefix(url: str) -> None:
    """Everything under the prefix `url`, and the prefix itself. (Deleting a store's files one
    by one can leave an empty directory marker behind: pyarrow keeps a parent "directory" alive.)
    """
    _delete(url, prefix=True)


def _delete(url: str, *, prefix: bool) -> None:
    filesystem, path = resolve(url)
    try:
        if prefix:
            filesystem.delete_dir(path)
        else:
            filesystem.delete_file(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise store_error(url, exc, "delete") from None


def check_container(url: str) -> None:
    """Refuse, before any work, an output whose bucket or container is not there (or is hidden
    from these credentials): a store would otherwise fail only at the first upload."""
    filesystem, path = resolve(url)
    if not isinstance(filesystem, (pafs.S3FileSystem, pafs.GcsFileSystem, pafs.AzureFileSystem)):
        return
    container = path.split("/", 1)[0]
    try:
        found = filesystem.get_file_info(container).type != pafs.FileType.NotFound
    except OSError as exc:
        raise store_error(url, exc, "reach the store") from None
    if not found:
        raise FontpipeError(
            f"{url}: the bucket or container {container!r} does not exist, or these "
            "credentials cannot see it"
        )
