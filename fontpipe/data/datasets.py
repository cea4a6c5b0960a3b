"""The one owner of dataset directories: every Parquet read and write of a dataset happens here.

Layout of a dataset directory:

    manifest.json                 rule, sampling, seed, rows per split, version, fingerprint
    split=train/part-00000.parquet
    split=val/part-00000.parquet
    split=test/part-00000.parquet

The `split` column comes from the partition directory, so reading one split touches only its files.
"""

from __future__ import annotations

# pyarrow.dataset loads on first use: about 0.5 s at start-up, for reading whole splits only.
import hashlib
import json
import shutil
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from fontpipe import storage
from fontpipe.arrays import to_numpy
from fontpipe.atomic import atomic_directory
from fontpipe.data.fetch import open_fetched, refuse_store_target
from fontpipe.data.generation import GenerateConfig, default_dataset_name, iter_chunks
from fontpipe.data.splits import SplitColourCheck
from fontpipe.data.target_lock import target_lock
from fontpipe.errors import FontpipeError
from fontpipe.records import DatasetInfo, package_version
from fontpipe.schema import CHANNELS, LABEL, MANIFEST, SPLIT, SPLITS, Sampling, Split

if TYPE_CHECKING:
    # pyarrow.dataset costs ~60 MB of RSS at import; writers never need it, so readers import it
    # where they use it.
    import pyarrow.dataset as pads

MANIFEST_FORMAT = "fontpipe-dataset/1"

ProgressCallback = Callable[[int], None]  # called with the rows just written
# Rows read from Parquet at a time when streaming a split.
READ_CHUNK_ROWS = 65_536
# Dataset files encoded and written at once while the next chunk is generated.
WRITE_THREADS = 2


def channel_type(sampling: Sampling | str) -> pa.DataType:
    # uint8 for integer sampling, float32 for the original question's continuous sampling.
    return pa.float32() if sampling == "uniform-float" else pa.uint8()


def dataset_schema(sampling: Sampling | str) -> pa.Schema:
    """Schema of one Parquet file; `split` comes from the hive partition directory."""
    channel = channel_type(sampling)
    return pa.schema([(c, channel) for c in CHANNELS] + [(LABEL, pa.int8())])


class DatasetRef(DatasetInfo):
    """A dataset as the generate step hands it on: its record, and whether it was reused."""

    reused: bool = False


@dataclass(frozen=True)
class Dataset:
    """An opened, manifest-checked dataset: `path` is where its files are read, `source` the
    store URL they were copied from (None for a local dataset)."""

    path: Path
    manifest: dict[str, Any]
    source: str | None = None

    @property
    def location(self) -> str:
        """Where the dataset lives for its users: the store URL, or the local directory."""
        return self.source or str(self.path)

    @property
    def fingerprint(self) -> str:
        return str(self.manifest["fingerprint"])

    @property
    def rule(self) -> str:
        return str(self.manifest["rule"])

    @property
    def sampling(self) -> str:
        return str(self.manifest["sampling"])

    def split_rows(self, split: Split) -> int:
        return int(self.manifest["splits"][split]["rows"])

    def split_files(self, split: Split) -> list[Path]:
        return [self.path / f for f in self.manifest["splits"][split]["files"]]

    def info(self) -> DatasetInfo:
        return DatasetInfo(
            path=self.location,
            fingerprint=self.fingerprint,
            rule=self.rule,
            sampling=self.sampling,
            rows={s: self.split_rows(s) for s in SPLITS},
        )

    def ref(self, *, reused: bool = False) -> DatasetRef:
        return DatasetRef(**self.info().model_dump(), reused=reused)

    def arrow(self) -> pads.Dataset:
        """The whole dataset as a pyarrow dataset with the `split` partition column."""
        import pyarrow.dataset as pads

        return pads.dataset(
            self.path, format="parquet", partitioning="hive", exclude_invalid_files=True
        )

    def split_dataset(self, split: Split) -> pads.Dataset:
        import pyarrow.dataset as pads

        files = [str(f) for f in self.split_files(split)]
        return pads.dataset(files, format="parquet", schema=dataset_schema(self.sampling))


def _file_name(split: Split, index: int) -> str:
    return f"{SPLIT}={split}/part-{index:05d}.parquet"


def default_dataset_path(datasets_dir: Path, config: GenerateConfig) -> Path:
    """Where a dataset goes unless the user names a directory: one per parameter set."""
    return datasets_dir / default_dataset_name(config)


def check_dataset_target(out: Path | str) -> Path:
    """Refuse an output path that can never hold a dataset, before any work starts."""
    refuse_store_target(out)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FontpipeError(f"{out}: output path exists and is a file, not a dataset directory")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise FontpipeError(f"{out}: {parent} is a file, so the dataset cannot go there")
            break
    return out


def write_dataset(
    config: GenerateConfig,
    out: Path,
    *,
    force: bool = False,
    check_space: bool = True,
    progress: ProgressCallback | None = None,
) -> tuple[Dataset, bool]:
    """Generate `config` into `out` atomically; returns (dataset, reused).

    An existing dataset made from the same parameters is reused unless `force` is set. Unless
    `check_space` is off, a dataset that cannot fit on the disk is refused before anything is
    written. Runs writing the same directory take turns (a file lock), so the second
    reuses what the first wrote, and staging left by a killed run is removed safely.
    """
    out = check_dataset_target(out)
    with target_lock(out):
        _remove_stale_staging(out)
        if out.exists() and not force:
            existing = reusable_dataset(config, out)
            if existing is not None:
                return existing, True
            if any(out.iterdir()):
                raise FontpipeError(
                    f"{out}: a different dataset (or other files) is already there; "
                    "pass --force to replace it or choose another --out"
                )
        if check_space:
            check_free_space(config, out)
        return _generate_into(config, out, progress), False


def _generate_into(config: GenerateConfig, out: Path, progress: ProgressCallback | None) -> Dataset:
    schema = dataset_schema(config.sampling).with_metadata(_kv_metadata(config))
    digest = hashlib.sha256()
    splits: dict[str, dict[str, Any]] = {s: {"rows": 0, "files": [], "black": 0} for s in SPLITS}
    # Generation runs here while up to WRITE_THREADS files are encoded and written by pyarrow,
    # which releases the GIL; the bounded queue keeps at most a few chunks in memory.
    pending: list[Future[None]] = []
    colours = SplitColourCheck()
    with (
        atomic_directory(out, replace=True) as staging,
        ThreadPoolExecutor(max_workers=WRITE_THREADS, thread_name_prefix="fontpipe-write") as pool,
    ):
        for split in SPLITS:
            (staging / f"{SPLIT}={split}").mkdir()
        for chunk in iter_chunks(config):
            name = _file_name(chunk.split, chunk.index)
            table = _file_table(chunk.rgb, chunk.label, schema, digest)
            while len(pending) >= WRITE_THREADS:
                pending.pop(0).result()
            ordered = config.sampling == "cube" and chunk.split == "train"
            pending.append(pool.submit(_write_file, table, staging / name, ordered))
            colours.add(chunk.split, chunk.rgb)
            entry = splits[chunk.split]
            entry["rows"] += len(chunk.label)
            entry["black"] += int(chunk.label.sum(dtype=np.int64))
            entry["files"].append(name)
            if progress is not None:
                progress(len(chunk.label))
        for future in pending:
            future.result()
        manifest = {
            "format": MANIFEST_FORMAT,
            "fontpipe_version": package_version(),
            "params_hash": config.params_hash(),
            "fingerprint": digest.hexdigest()[:32],
            "rule": config.rule,
            "sampling": config.sampling,
            "seed": config.seed,
            "rows": config.rows,
            "config": config.model_dump(mode="json"),
            "splits": splits,
            "colour_splits": colours.checked_record(out),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return Dataset(path=out, manifest=manifest)


def write_labelled_dataset(
    out: Path,
    rgb: npt.NDArray[np.uint8],
    label: npt.NDArray[np.int8],
    splits: dict[str, npt.NDArray[np.int64]],
    *,
    rule: str,
    seed: int,
    source: dict[str, Any],
    force: bool = False,
) -> Dataset:
    """A dataset of given (not generated) labelled colours, e.g. human judgements: one file per
    split, the same layout and manifest format as a generated dataset, `sampling` "labelled"."""
    out = check_dataset_target(out)
    _remove_stale_staging(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise FontpipeError(
            f"{out}: a dataset (or other files) is already there; pass --force to replace it"
        )
    schema = dataset_schema("labelled")
    digest = hashlib.sha256()
    entries: dict[str, dict[str, Any]] = {}
    colours = SplitColourCheck()
    for split in SPLITS:
        colours.add(split, rgb[splits[split]])
    with atomic_directory(out, replace=True) as staging:
        for split in SPLITS:
            (staging / f"{SPLIT}={split}").mkdir()
            rows = splits[split]
            name = _file_name(split, 0)
            _write_file(_file_table(rgb[rows], label[rows], schema, digest), staging / name)
            black = int(label[rows].sum(dtype=np.int64))
            entries[split] = {"rows": len(rows), "files": [name], "black": black}
        manifest = {
            "format": MANIFEST_FORMAT,
            "fontpipe_version": package_version(),
            "params_hash": hashlib.sha256(
                json.dumps([source, seed], sort_keys=True).encode()
            ).hexdigest()[:16],
            "fingerprint": digest.hexdigest()[:32],
            "rule": rule,
            "sampling": "labelled",
            "label_source": "human",
            "seed": seed,
            "rows": int(sum(e["rows"] for e in entries.values())),
            "splits": entries,
            "colour_splits": colours.checked_record(out),
            "source": source,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return Dataset(path=out, manifest=manifest)


def estimated_bytes(config: GenerateConfig) -> int:
    """On-disk size of a dataset: plain-encoded, uncompressed columns (see `_write_file`), plus a
    few kilobytes of Parquet footer per file and some slack for page headers."""
    row_bytes = 3 * channel_type(config.sampling).byte_width + 1
    files = sum(-(-rows // config.rows_per_file) for rows in config.split_rows().values())
    return int(config.rows * row_bytes * 1.02) + files * 16_384


def check_free_space(config: GenerateConfig, out: Path) -> None:
    existing = next(p for p in (out, *out.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    needed = estimated_bytes(config)
    if needed > free:
        raise FontpipeError(
            f"{out}: the dataset needs about {needed / 1e9:,.2f} GB and {existing} has "
            f"{free / 1e9:,.2f} GB free; generate fewer rows, choose another --out, or pass "
            "--no-space-check if you know better"
        )


def _remove_stale_staging(out: Path) -> None:
    """Staging directories that a killed run writing this dataset left beside it."""
    for stale in out.parent.glob(f".{out.name}.tmp-*"):  # none when the parent is missing
        shutil.rmtree(stale, ignore_errors=True)


def _file_table(
    rgb: npt.NDArray[Any], label: npt.NDArray[np.int8], schema: pa.Schema, digest: Any
) -> pa.Table:
    """One dataset file's rows as a table, their bytes added to the dataset's fingerprint."""
    # Planar copies: the channel views of an (n, 3) array are strided.
    columns = [np.ascontiguousarray(rgb[:, i]) for i in range(3)]
    labels = np.ascontiguousarray(label)
    for column in (*columns, labels):
        digest.update(column.view(np.uint8).data)
    return pa.Table.from_arrays([*columns, labels], schema=schema)


def _write_file(table: pa.Table, path: Path, ordered: bool = False) -> None:
    if ordered:
        # The cube in index order: red and green come in long runs and labels in runs, so
        # run-length (dictionary) encoding shrinks a file twenty-fold for little time.
        pq.write_table(table, path, compression="snappy", write_statistics=False)
        return
    # Plain encoding, no compression: random channels do not compress, and dictionary-encoding
    # the label costs a third of the write time for ~1 MB per million rows saved.
    pq.write_table(table, path, compression="none", use_dictionary=False, write_statistics=False)


def _kv_metadata(config: GenerateConfig) -> dict[str, str]:
    return {
        "fontpipe.version": package_version(),
        "fontpipe.rule": config.rule,
        "fontpipe.sampling": config.sampling,
        "fontpipe.seed": str(config.seed),
        "fontpipe.params_hash": config.params_hash(),
        "fontpipe.label": "1 = black text, 0 = white text",
    }


def reusable_dataset(config: GenerateConfig, out: Path) -> Dataset | None:
    """The intact dataset at `out` if it was made from exactly `config`, else None."""
    if not (out / MANIFEST).exists():
        return None
    try:
        dataset = open_dataset(out)
    except FontpipeError:
        return None
    if dataset.manifest.get("params_hash") != config.params_hash():
        return None
    return dataset


def open_dataset(path: Path | str) -> Dataset:
    """Open a dataset written by `write_dataset`, checking its manifest against its files. A
    store URL is copied into the local dataset cache first and checked there; a cached copy that
    fails the checks (damaged on disk) is fetched once more before the dataset is refused."""
    url = storage.store_url(path)
    if url is None:
        return _open_local(Path(path))
    return open_fetched(url, lambda local: _open_local(local, source=url))


def _open_local(path: Path, source: str | None = None) -> Dataset:
    if not path.exists():
        raise FontpipeError(f"{path}: no such dataset directory")
    if not path.is_dir():
        raise FontpipeError(f"{path}: not a directory; a dataset is a directory with {MANIFEST}")
    manifest_path = path / MANIFEST
    if not manifest_path.exists():
        raise FontpipeError(f"{path}: no {MANIFEST}; not a fontpipe dataset (or an unfinished one)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FontpipeError(f"{manifest_path}: corrupt manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise FontpipeError(f"{manifest_path}: not a fontpipe dataset manifest")
    expected_schema = dataset_schema(manifest["sampling"])
    for split in SPLITS:
        entry = manifest["splits"][split]
        rows = 0
        for name in entry["files"]:
            file = path / name
            try:
                meta = pq.read_metadata(file)
                schema = pq.read_schema(file)
            except FileNotFoundError:
                raise FontpipeError(f"{file}: listed in the manifest but missing") from None
            except (pa.ArrowInvalid, OSError) as exc:
                raise FontpipeError(f"{file}: corrupt Parquet file ({exc})") from None
            if not schema.remove_metadata().equals(expected_schema):
                raise FontpipeError(
                    f"{file}: unexpected columns {schema.names}, wanted {(*CHANNELS, LABEL)}"
                )
            rows += meta.num_rows
        if rows != entry["rows"]:
            raise FontpipeError(
                f"{path}: split {split!r} has {rows} rows on disk but {entry['rows']} in the manifest"
            )
    return Dataset(path=path, manifest=manifest, source=source)


def read_split_arrays(
    dataset: Dataset, split: Split
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]:
    """A whole split as (rgb float32 (n, 3), label int32 (n,)), read column by column."""
    return read_file_arrays(dataset.split_files(split))


def read_file_arrays(
    paths: Sequence[str | Path], every: tuple[int, int] = (0, 1)
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]:
    """These dataset files' rows as (rgb float32 (n, 3), label int32 (n,)), in order. `every` =
    (start, step) keeps rows start, start + step, ... of each file (a multi-worker shard)."""
    start, step = every
    rgb_parts: list[npt.NDArray[np.float32]] = []
    label_parts: list[npt.NDArray[np.int32]] = []
    for path in paths:
        table = pq.read_table(path, columns=[*CHANNELS, LABEL])
        rgb_parts.append(_rgb(table)[start::step])
        label_parts.append(to_numpy(table.column(LABEL)).astype(np.int32)[start::step])
    if not rgb_parts:
        return np.zeros((0, 3), np.float32), np.zeros(0, np.int32)
    return np.concatenate(rgb_parts), np.concatenate(label_parts)


def _rgb(table: pa.Table | pa.RecordBatch) -> npt.NDArray[np.float32]:
    return np.stack([to_numpy(table.column(c)).astype(np.float32) for c in CHANNELS], axis=1)


def iter_file_chunks(
    path: str | bytes,
) -> Iterator[tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]]:
    """Record batches of one dataset file as (rgb, label); tf.data passes the path as bytes."""
    name = path.decode() if isinstance(path, bytes) else path
    with pq.ParquetFile(name) as parquet:
        for batch in parquet.iter_batches(batch_size=READ_CHUNK_ROWS, columns=[*CHANNELS, LABEL]):
            yield _rgb(batch), to_numpy(batch.column(LABEL)).astype(np.int32)
