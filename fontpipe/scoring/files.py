"""Which files a score job reads and writes: inputs expanded from files, directories, globs and
store prefixes, each checked for a known format; each file's columns; the output path checked
before any work, and locked (`OutputLock`) for the whole job.
"""

from __future__ import annotations

import errno
import glob
import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from fontpipe import storage
from fontpipe.atomic import write_json_atomic
from fontpipe.errors import FontpipeError
from fontpipe.palettes.formats import (
    TOKEN_COLUMNS,
    InputFormat,
    csv_columns,
    input_format,
    jsonl_columns,
)


def file_format(path: str | Path) -> Literal["parquet", "csv"] | None:
    suffix = storage.name_of(path).suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix == ".csv":
        return "csv"
    return None


# `css`: a stylesheet of the text colours; `tokens`: W3C design tokens of them
# (fontpipe.scoring.design). Neither holds the scored rows themselves.
OutputFormat = Literal["parquet", "csv", "dataset", "css", "tokens"]
DESIGN_FORMATS: tuple[OutputFormat, ...] = ("css", "tokens")
# An input file: a local path, or the URL of a file on a store (see fontpipe.storage).
InputFile = Path | str


def names_a_directory(out: str | Path) -> bool:
    """An output named with a trailing separator (`out/`) asks for a partitioned dataset."""
    return isinstance(out, str) and out.endswith(("/", os.sep))


def output_format(path: str | Path, partitioned: bool = False) -> OutputFormat:
    """What `--out` asks for, by its suffix: .parquet (.pq), .csv, .css (a stylesheet), .json
    (design tokens: score has no other JSON output), or a directory dataset."""
    if partitioned:
        return "dataset"
    found = file_format(path)
    if found is not None:
        return found
    suffix = storage.name_of(path).suffix.lower()
    if suffix == ".css":
        return "css"
    if suffix == ".json":
        return "tokens"
    raise FontpipeError(
        f"{path}: unknown output format; name it .parquet or .csv (the scored rows), .css (a "
        "stylesheet) or .json (design tokens), or end it with / for a partitioned Parquet "
        "dataset"
    )


def input_kind(path: InputFile) -> InputFormat:
    found = input_format(path)
    if found is None:
        raise FontpipeError(
            f"{path}: not an input file (.csv, .tsv, .csv.gz/.bz2/.zst, .parquet, .jsonl, "
            ".json design tokens or .css)"
        )
    return found


def expand_inputs(inputs: list[str]) -> list[InputFile]:
    """Files, directories (their palette files, sorted) and globs -> an ordered file list. URLs
    name an object, a prefix (every palette file under it) or a glob on a store."""
    files: list[InputFile] = []
    for item in inputs:
        local = storage.local_path(item)
        if local is None:
            files += _expand_url(item)
            continue
        path = local
        item = str(local)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and input_format(p) is not None
            )
            if not found:
                raise FontpipeError(f"{path}: directory holds no palette files")
            files += found
        elif path.exists():
            files.append(path)
        elif any(ch in item for ch in "*?["):
            matched = sorted(Path(p) for p in glob.glob(item, recursive=True) if Path(p).is_file())
            if not matched:
                raise FontpipeError(f"{item}: the pattern matches no file")
            files += matched
        else:
            raise FontpipeError(f"{item}: no such file or directory")
    for file in files:
        input_kind(file)
        if isinstance(file, Path) and not os.access(file, os.R_OK):
            raise FontpipeError(f"{file}: cannot read the file (permission denied)")
    return files


def _expand_url(url: str) -> list[InputFile]:
    if storage.has_glob(url):
        matched: list[InputFile] = list(storage.glob(url))
        if not matched:
            raise FontpipeError(f"{url}: the pattern matches no file")
        return matched
    if storage.is_file(url):
        return [url]
    found: list[InputFile] = [f for f in storage.list_files(url) if input_format(f) is not None]
    if not found:
        raise FontpipeError(f"{url}: no such file, and no palette files under that prefix")
    return found


def check_output(files: list[InputFile], out: Path, partitioned: bool = False) -> Path | None:
    """Refuse an output path that cannot work; returns the outermost directory created for it
    (removed again if the job fails on bad input), or None."""
    output_format(out, partitioned)
    resolved = out.resolve()
    for file in files:
        if not isinstance(file, Path):
            continue
        if file.resolve() == resolved or (partitioned and resolved in file.resolve().parents):
            raise FontpipeError(f"{out}: the output path is also an input; choose another --out")
    if partitioned:
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise FontpipeError(
                f"{out}: already exists and is not empty; a partitioned output needs a new "
                "directory (remove it, or choose another --out)"
            )
    elif out.exists() and out.is_dir():
        raise FontpipeError(
            f"{out}: is a directory; --out names the output file (end it with / to write a "
            "partitioned dataset there)"
        )
    missing = [p for p in (out.parent, *out.parent.parents) if not p.exists()]
    created = missing[-1] if missing else None
    if missing:
        try:
            out.parent.mkdir(parents=True)
        except OSError as exc:
            raise FontpipeError(
                f"{out}: cannot create the output directory ({exc.strerror})"
            ) from None
    if not os.access(out.parent, os.W_OK):
        raise FontpipeError(f"{out}: cannot write in {out.parent}")
    return created


def file_schema(path: InputFile, delimiter: str | None = None) -> pa.Schema:
    """The columns a file yields: the text formats' are all text (values pass through as they
    are written); Parquet's are its own."""
    fmt = input_kind(path)
    if fmt.kind == "parquet":
        try:
            with storage.open_random_access(path) as source:
                schema = pq.read_schema(source).remove_metadata()
        except (pa.ArrowInvalid, OSError) as exc:
            raise FontpipeError(f"{path}: unreadable Parquet file ({exc})") from None
    else:
        if fmt.kind == "csv":
            names = csv_columns(path, fmt, delimiter)[0]
        elif fmt.kind == "jsonl":
            names = jsonl_columns(path)
        else:
            names = list(TOKEN_COLUMNS)
        schema = pa.schema([(name, pa.string()) for name in names])
    seen: set[str] = set()
    for name in schema.names:
        if name in seen:
            raise FontpipeError(f"{path}: column {name!r} appears twice in the header")
        seen.add(name)
    return schema


def running_job() -> dict[str, Any]:
    """Who runs this job, recorded beside its lock and in its `job.json`, so that a job refused
    because of it can name it."""
    started = datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")
    return {"pid": os.getpid(), "host": socket.gethostname(), "started": started}


def describe_job(about: Any) -> str:
    """A job's record (from a lock's companion file or a `job.json`) in a few words; such files
    are read back from disk or a store, so anything in them is taken as text."""
    if not isinstance(about, dict):
        return "its details are not recorded"
    words = []
    inputs = about.get("inputs")
    if isinstance(inputs, list) and inputs:
        more = f" and {len(inputs) - 1} more" if len(inputs) > 1 else ""
        words.append(f"inputs {inputs[0]}{more}")
    if about.get("model"):
        words.append(f"model {about['model']}")
    if about.get("pid"):
        words.append(f"pid {about['pid']} on {about.get('host') or 'an unknown host'}")
    if about.get("started"):
        words.append(f"started {about['started']}")
    return ", ".join(str(w) for w in words) or "its details are not recorded"


class OutputLock:
    """The exclusive lock on one output's staging directory, held by one score job from before
    it touches anything to its very end, so two jobs never write one output's parts together.

    The lock file (`<staging>.lock`, beside the staging directory) and its companion
    (`<staging>.lock.json`: who holds it) are removed on release, success or failure; a job
    killed outright leaves them, and the next job takes them over (the kernel dropped the lock).
    """

    def __init__(self, staging: Path) -> None:
        self.path = staging.with_name(staging.name + ".lock")
        self.owner = staging.with_name(staging.name + ".lock.json")
        self._held: Any = None

    def acquire(self, out: Path | str, about: dict[str, Any]) -> None:
        """Take the lock without waiting; a job already holding it is named in one line."""
        try:
            self._held = _lock_without_waiting(self.path)
        except OSError as exc:
            why = "it is a symbolic link" if exc.errno == errno.ELOOP else exc.strerror
            raise FontpipeError(f"{self.path}: cannot lock the output ({why})") from None
        if self._held is None:
            raise FontpipeError(
                f"{out}: another score job is writing this output ({self._holder()}); wait "
                "for it to finish, or choose another --out"
            )
        try:
            write_json_atomic(self.owner, about)
        except BaseException:
            self.release()
            raise

    def _holder(self) -> str:
        try:
            return describe_job(json.loads(self.owner.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return "its details are not recorded yet"

    def release(self) -> None:
        if self._held is None:
            return
        # Removed while still held: a job that opened the old file meanwhile finds it unlinked
        # once it gets the lock, and tries again on a new one (`_lock_without_waiting`).
        self.owner.unlink(missing_ok=True)
        self.path.unlink(missing_ok=True)
        self._held.release()
        self._held = None


class _FlockHeld:
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def release(self) -> None:
        os.close(self.fd)  # closing the descriptor drops the kernel's lock


def _lock_without_waiting(path: Path) -> Any:
    """An exclusive lock on `path`, or None when another process holds it. On POSIX, flock(2)
    itself: the filelock package loads asyncio on import, 0.06 s of every score job's start-up
    (a small job's start-up decides its speed); elsewhere, filelock."""
    try:
        import fcntl
    except ImportError:
        import filelock

        # Not thread-local: a flow may release it from another thread than the one that took it.
        lock = filelock.FileLock(str(path), timeout=0, thread_local=False)
        try:
            lock.acquire()
        except filelock.Timeout:
            return None
        return lock
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return _FlockHeld(fd)
        os.close(fd)  # the holder released and removed it meanwhile: lock the new file


def common_columns(files: list[InputFile], out_format: str, delimiter: str | None) -> list[str]:
    """The column names every input shares. Parquet output needs one schema, so there the column
    types must agree too: refused here, before any part runs, rather than failing at assembly."""
    first = file_schema(files[0], delimiter)
    for file in files[1:]:
        other = file_schema(file, delimiter)
        if other.names != first.names:
            raise FontpipeError(
                f"{file}: columns {other.names} differ from {files[0]}'s {first.names}; "
                "score them separately"
            )
        if out_format in ("parquet", "dataset") and not other.equals(first):
            theirs = ", ".join(f"{f.name}: {f.type}" for f in other)
            ours = ", ".join(f"{f.name}: {f.type}" for f in first)
            raise FontpipeError(
                f"{file}: column types ({theirs}) differ from {files[0]}'s ({ours}), and a "
                "Parquet output holds one schema; score them separately, or write .csv"
            )
    return list(first.names)
