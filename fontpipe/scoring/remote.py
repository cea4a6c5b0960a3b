"""A score job's output on an object store (`s3://`, `gs://`, `abfs://`, ...), committed with a
marker, because a store has no rename.

A partitioned output at PREFIX/ (`--out s3://bucket/scored/`):

    PREFIX/part-00000.parquet          a part's rows, uploaded whole by whoever scored the part
    PREFIX/_parts/job.json              the job that owns the prefix: its fingerprint, inputs,
                                        options and model, and who runs it
    PREFIX/_parts/part-00000.rejects.csv   that part's rejected rows
    PREFIX/_parts/part-00000.json      that part's commit marker (with the job's fingerprint),
                                        uploaded after its files
    PREFIX/_manifest.json               the committed files with their row counts, the model
    PREFIX/_SUCCESS                     written last: the output is complete

Readers trust only a prefix that holds `_SUCCESS`, and read the files `_manifest.json` lists
(pyarrow.dataset, Dask, DuckDB and Spark all skip names that begin with `_`). A rerun of a killed
job finds its markers and scores only the parts without one; `_parts/` is removed once `_SUCCESS`
is written. A prefix holding another job's parts or markers is refused, never taken over: a store
has no lock, and that job may be running elsewhere. Each part's upload and the commit first check
that `job.json` is still this job's, which stops two jobs that claimed an empty prefix at once.
Part files are named by part index, so a part scored twice (a retried task, a worker killed after
its upload) writes the same object again: never a duplicate file.

A single-file output on a store (`--out s3://bucket/scored.parquet`) is assembled in a local
working directory and uploaded as one object, which appears whole or not at all; its parts are
local, so a rerun resumes only on the same machine.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fontpipe import storage
from fontpipe.errors import FontpipeError
from fontpipe.scoring.files import describe_job
from fontpipe.scoring.manifest import MANIFEST_FILE, SUCCESS_FILE, dataset_manifest
from fontpipe.scoring.plan import ScoreJob

PARTS_PREFIX = "_parts"
# Everything a job of ours writes under a prefix; anything else there is not ours to delete.
_OUR_NAMES = re.compile(r"(part-\d{5,}\.parquet|_parts/.*|_manifest\.json)\Z")


def work_dir_for(out_url: str) -> Path:
    """The local working directory of the job writing `out_url`: the same for every run, so a
    rerun on this machine finds what the last one left."""
    digest = hashlib.sha256(out_url.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"fontpipe-score-{digest}"


def part_file_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def _marker_url(out_url: str, index: int) -> str:
    return storage.join(out_url, f"{PARTS_PREFIX}/part-{index:05d}.json")


def _rejects_url(out_url: str, index: int) -> str:
    return storage.join(out_url, f"{PARTS_PREFIX}/part-{index:05d}.rejects.csv")


def _job_url(out_url: str) -> str:
    return storage.join(out_url, f"{PARTS_PREFIX}/job.json")


def _owner(out_url: str) -> dict[str, Any] | None:
    """The `job.json` of the job that owns the prefix; None when there is none (or it is not
    a job's record)."""
    try:
        owner = json.loads(storage.read_bytes(_job_url(out_url)))
    except (FontpipeError, OSError, ValueError):
        return None
    return owner if isinstance(owner, dict) else None


def claim_prefix(out_url: str, identity: dict[str, Any]) -> None:
    """Make PREFIX/ this job's: new, or holding this same job's uncommitted parts (resume).
    Anything else is refused, another job's parts and markers included: that job may still be
    running on another machine, and nothing here can tell."""
    existing = storage.list_files(out_url)
    names = [url[len(storage.join(out_url, "")) :] for url in existing]
    if SUCCESS_FILE in names:
        raise FontpipeError(
            f"{out_url}: already holds a committed output (_SUCCESS); remove it or choose "
            "another --out"
        )
    foreign = [n for n in names if not _OUR_NAMES.match(n)]
    if foreign:
        raise FontpipeError(
            f"{out_url}: is not empty ({foreign[0]} and {len(names) - 1} more); a partitioned "
            "output needs a new prefix"
        )
    if existing:
        owner = _owner(out_url)
        if owner is not None and owner.get("fingerprint") == identity["fingerprint"]:
            return
        raise FontpipeError(
            f"{out_url}: holds the uncommitted parts of another score job ({describe_job(owner)})"
            ", which may still be running; remove the prefix once it is not, or choose "
            "another --out"
        )
    storage.put_bytes(_job_url(out_url), json.dumps(identity).encode() + b"\n")


def check_owner(out_url: str, fingerprint: str) -> None:
    """Stop a job whose prefix another job has claimed meanwhile (two jobs that claimed an
    empty prefix at the same moment): it publishes nothing more there."""
    owner = _owner(out_url)
    if owner is None or owner.get("fingerprint") != fingerprint:
        raise FontpipeError(
            f"{out_url}: another score job ({describe_job(owner)}) claimed this prefix while "
            "this one ran; this job stops without publishing"
        )


def committed_parts(out_url: str) -> set[int]:
    """The parts whose commit marker is on the store (one listing, not one request a part)."""
    found = storage.list_files(storage.join(out_url, PARTS_PREFIX))
    pattern = re.compile(r"/part-(\d{5,})\.json\Z")
    return {int(m.group(1)) for url in found if (m := pattern.search(url))}


def committed_result(out_url: str, index: int, fingerprint: str) -> dict[str, Any] | None:
    """A committed part's counts, from its marker; None when the part is not committed by this
    job (a marker of another job is never taken up)."""
    url = _marker_url(out_url, index)
    if not storage.exists(url):
        return None
    marker = json.loads(storage.read_bytes(url))
    if not isinstance(marker, dict) or marker.pop("job", None) != fingerprint:
        return None
    return marker


def publish_part(
    out_url: str,
    index: int,
    output: Path,
    rejects: Path,
    counts: dict[str, Any],
    fingerprint: str,
) -> None:
    """Upload a part scored here, its marker (naming the job) last, then drop the local copies.
    A part with no rows has no file (the manifest lists only files with rows)."""
    check_owner(out_url, fingerprint)
    if counts["scored"]:
        storage.put_file(output, storage.join(out_url, part_file_name(index)))
    if rejects.stat().st_size:
        storage.put_file(rejects, _rejects_url(out_url, index))
    marker = {"job": fingerprint, **counts}
    storage.put_bytes(_marker_url(out_url, index), json.dumps(marker).encode())
    output.unlink(missing_ok=True)
    rejects.unlink(missing_ok=True)


def commit_dataset(job: ScoreJob, out_url: str, part_rows: Sequence[tuple[int, int]]) -> None:
    """`_manifest.json`, then `_SUCCESS`, then the markers go. `part_rows` is (index, rows) per
    part, in order. Refused when the prefix is no longer this job's alone."""
    check_owner(out_url, job.fingerprint)
    stray = committed_parts(out_url) - {index for index, _ in part_rows}
    if stray:
        raise FontpipeError(
            f"{out_url}: holds markers of parts this job does not have (part {min(stray)} and "
            f"{len(stray) - 1} more), left by another score job; nothing was committed"
        )
    files: list[dict[str, Any]] = [
        {"file": part_file_name(i), "rows": rows} for i, rows in part_rows if rows
    ]
    manifest = dataset_manifest(job, files)
    storage.put_bytes(
        storage.join(out_url, MANIFEST_FILE), (json.dumps(manifest, indent=2) + "\n").encode()
    )
    storage.put_bytes(storage.join(out_url, SUCCESS_FILE), b"")
    storage.delete_prefix(storage.join(out_url, PARTS_PREFIX))


def part_rejects(out_url: str, index: int) -> bytes:
    """A committed part's rejected rows (CSV lines without a header); b"" when it had none."""
    url = _rejects_url(out_url, index)
    return storage.read_bytes(url) if storage.exists(url) else b""


def abandon(out_url: str, fingerprint: str) -> None:
    """Bad input: remove what this job put on the store (a rerun would fail the same way). The
    prefix held nothing else (`claim_prefix` refused one that did); a prefix another job has
    claimed since is left to that job."""
    owner = _owner(out_url)
    if owner is not None and owner.get("fingerprint") != fingerprint:
        return
    storage.delete_prefix(out_url)


def remove_work_dir(out_url: str) -> None:
    shutil.rmtree(work_dir_for(out_url), ignore_errors=True)
