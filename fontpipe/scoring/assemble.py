"""Assembling finished parts, strictly in part order, into the output and the rejects file."""

from __future__ import annotations

import os
import shutil
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from fontpipe.atomic import atomic_file, staging_path
from fontpipe.scoring.columns import CSV_WRITE_OPTIONS
from fontpipe.scoring.part import REJECT_COLUMNS, parquet_output_options
from fontpipe.scoring.plan import Part, ScoreJob


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

    def append_ready(self, finished: set[int]) -> None:
        while (
            self.next_index < len(self.job.parts)
            and self.job.parts[self.next_index].index in finished
        ):
            self._append(self.job.parts[self.next_index])
            self.next_index += 1

    def _append(self, part: Part) -> None:
        piece = self.job.part_paths(part.index).output
        only_part = len(self.job.parts) == 1
        if self.job.out_format == "csv":
            if self._csv is None:
                self._csv = self.staging.open("wb")
                columns = [*self.job.names, *self.job.output_columns]
                self._csv.write((",".join(csv_quote(c) for c in columns) + "\n").encode())
            if only_part:
                with piece.open("rb") as source:
                    shutil.copyfileobj(source, self._csv, 4 << 20)
            elif piece.stat().st_size:
                with pa.memory_map(str(piece)) as source:
                    table = pa.ipc.open_file(source).read_all()
                self._csv.flush()
                pacsv.write_csv(table, self._csv, write_options=CSV_WRITE_OPTIONS)
            return
        if not piece.stat().st_size:
            return
        if len(self.job.parts) == 1:
            os.replace(piece, self.staging)  # one part is already the whole output
            self._writer = "moved"
            return
        with pa.memory_map(str(piece)) as source:
            table = pa.ipc.open_file(source).read_all()  # zero-copy over the mapped file
            if self._writer is None:
                self._writer = pq.ParquetWriter(
                    str(self.staging), table.schema, **parquet_output_options(table.schema)
                )
            self._writer.write_table(table)

    def finish(self) -> None:
        if self._csv is not None:
            self._csv.close()
        elif self.job.out_format == "csv":
            self.staging.write_text(
                ",".join(csv_quote(c) for c in [*self.job.names, *self.job.output_columns]) + "\n"
            )
        elif self._writer is None:
            schema = pa.schema(
                [(n, pa.string()) for n in self.job.names] + list(self.job.output_fields)
            )
            pq.write_table(schema.empty_table(), str(self.staging))
        elif self._writer != "moved":
            self._writer.close()
        os.replace(self.staging, self.job.out)

    def abandon(self) -> None:
        if self._csv is not None:
            self._csv.close()
        if self._writer not in (None, "moved"):
            self._writer.close()
        self.staging.unlink(missing_ok=True)


def csv_quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n\r') else text


def write_rejects_file(job: ScoreJob) -> None:
    """Every part's rejected rows, in part order, under one header; written atomically."""
    with atomic_file(job.rejects_path) as staging, staging.open("wb") as handle:
        columns = list(REJECT_COLUMNS) + [n for n in job.names if n not in REJECT_COLUMNS]
        handle.write((",".join(csv_quote(c) for c in columns) + "\n").encode())
        for part in job.parts:
            with job.part_paths(part.index).rejects.open("rb") as piece:
                shutil.copyfileobj(piece, handle, 1 << 20)
