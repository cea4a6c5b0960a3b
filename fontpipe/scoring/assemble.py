"""Assembling finished parts, strictly in part order, into the output and the rejects file."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from fontpipe.atomic import atomic_file, staging_path
from fontpipe.scoring import remote
from fontpipe.scoring.manifest import MANIFEST_FILE, SUCCESS_FILE, dataset_manifest
from fontpipe.scoring.parquet_join import JoinedParquetFile, ParquetJoinError
from fontpipe.scoring.part import (
    REJECT_COLUMNS,
    csv_header,
    csv_quote,
    parquet_output_options,
)
from fontpipe.scoring.plan import Part, ScoreJob
from fontpipe.storage import copy_range


class OutputAssembler:
    """Appends finished parts, strictly in part order, to the staged output file.

    Local runs feed it from a second thread while the next part is scored, so the extra pass over
    the data overlaps with scoring instead of following it; `finish` renames the result into place.
    """

    def __init__(self, job: ScoreJob) -> None:
        self.job = job
        self.staging = staging_path(job.out)
        self.next_index = 0
        self._writer: Any = None
        self._csv: Any = None
        self._first_piece_size = 0  # bytes of the CSV part moved into the staging file
        self._files: list[dict[str, Any]] = []  # a directory dataset's files, in order
        self._joined: list[Path] = []  # parts joined into the Parquet output so far

    def append_ready(self, finished: set[int]) -> None:
        while (
            self.next_index < len(self.job.parts)
            and self.job.parts[self.next_index].index in finished
        ):
            self._append(self.job.parts[self.next_index])
            self.next_index += 1

    def _append(self, part: Part) -> None:
        if self.job.publish_url is not None:
            return  # already on the store, under its final name
        if self.job.design:
            return  # a stylesheet or tokens file is made from the views once all are done
        piece = self.job.part_paths(part.index).output
        if self.job.out_format == "csv":
            self._append_csv(piece)
            return
        if self.job.out_format == "dataset":
            self._append_dataset_file(piece)
            return
        if not piece.stat().st_size:
            return
        if len(self.job.parts) == 1:
            os.replace(piece, self.staging)  # one part is already the whole output
            self._writer = "moved"
            return
        if self._writer is None:
            self._writer = JoinedParquetFile(self.staging)
        if isinstance(self._writer, JoinedParquetFile):
            # Each part encoded its own Parquet file on its own core; joining them copies their
            # bytes and writes one footer (fontpipe.scoring.parquet_join).
            try:
                self._writer.append(piece)
                self._joined.append(piece)
                return
            except ParquetJoinError:
                self._writer.close()
                self._writer = None
                for earlier in self._joined:
                    self._reencode(earlier)
                self._joined = []
        self._reencode(piece)

    def _reencode(self, piece: Path) -> None:
        """A part's rows decoded and encoded again into the output: the way when parts cannot
        be joined by copying (never expected of parts this job wrote itself)."""
        table = pq.read_table(piece, memory_map=True)
        if self._writer is None:
            self._writer = pq.ParquetWriter(
                str(self.staging), table.schema, **parquet_output_options(table.schema)
            )
        self._writer.write_table(table)

    def _append_csv(self, piece: Path) -> None:
        """CSV parts are finished text (the first starts with the header), so the output is
        the first part renamed plus the others' bytes appended in the kernel: the output's bytes
        are written once or copied, never formatted again. Writing is what a CSV job waits on."""
        if self._csv is None:
            self._first_piece_size = piece.stat().st_size
            os.replace(piece, self.staging)
            # Not "ab": copy_file_range refuses a target opened for appending.
            self._csv = self.staging.open("r+b")
            self._csv.seek(0, os.SEEK_END)
            return
        with piece.open("rb") as source:
            append_file(source, self._csv)

    def _append_dataset_file(self, piece: Path) -> None:
        """A part's Parquet file becomes the dataset's next file: hard-linked into the staging
        directory (no copy; the part keeps its own name until the job finishes, so a crash here
        loses nothing a rerun needs). Parts with no rows add no file."""
        if not piece.stat().st_size:
            return
        self.staging.mkdir(exist_ok=True)
        name = f"part-{len(self._files):05d}.parquet"
        try:
            os.link(piece, self.staging / name)
        except OSError:  # a filesystem without hard links
            shutil.copyfile(piece, self.staging / name)
        self._files.append({"file": name, "rows": pq.read_metadata(piece).num_rows})

    def _finish_dataset(self) -> None:
        """`_manifest.json`, then `_SUCCESS` (readers trust a directory only with it), then one
        rename puts the directory in place."""
        self.staging.mkdir(exist_ok=True)
        manifest = dataset_manifest(self.job, self._files)
        (self.staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
        (self.staging / SUCCESS_FILE).write_text("")
        if self.job.out.exists():
            self.job.out.rmdir()  # checked empty before the job began
        os.replace(self.staging, self.job.out)

    def finish(self) -> None:
        if self.job.out_format == "dataset":
            self._finish_dataset()
            return
        if self._csv is not None:
            self._csv.close()
        elif self.job.out_format == "csv":
            self.staging.write_bytes(csv_header(self.job))
        elif self._writer is None:
            schema = pa.schema(
                [(n, pa.string()) for n in self.job.names] + list(self.job.output_fields)
            )
            pq.write_table(pa.Table.from_batches([], schema), str(self.staging))
        elif isinstance(self._writer, JoinedParquetFile):
            self._writer.finish()
        elif self._writer != "moved":
            self._writer.close()
        os.replace(self.staging, self.job.out)

    def abandon(self) -> None:
        if self.job.out_format == "dataset":
            shutil.rmtree(self.staging, ignore_errors=True)  # links only: the parts stay
            return
        if self._csv is not None:
            self._csv.close()
            # Give the first part its file back, as it was, so a rerun reuses it.
            os.truncate(self.staging, self._first_piece_size)
            os.replace(self.staging, self.job.part_paths(self.job.parts[0].index).output)
            return
        if self._writer not in (None, "moved"):
            self._writer.close()
        self.staging.unlink(missing_ok=True)


def append_file(source: BinaryIO, target: BinaryIO) -> None:
    """Append one file's bytes to another, in the kernel where it can (storage.copy_range)."""
    target.flush()
    copy_range(source.fileno(), target.fileno(), 0, os.fstat(source.fileno()).st_size)


def write_rejects_file(job: ScoreJob) -> None:
    """Every part's rejected rows, in part order, under one header; written atomically (beside
    a local output; for one on a store, locally, for the caller to upload)."""
    with atomic_file(job.rejects_path) as staging, staging.open("wb") as handle:
        columns = list(REJECT_COLUMNS) + [n for n in job.names if n not in REJECT_COLUMNS]
        handle.write((",".join(csv_quote(c) for c in columns) + "\n").encode())
        for part in job.parts:
            if job.publish_url is not None:
                handle.write(remote.part_rejects(job.publish_url, part.index))
                continue
            with job.part_paths(part.index).rejects.open("rb") as piece:
                shutil.copyfileobj(piece, handle, 1 << 20)
