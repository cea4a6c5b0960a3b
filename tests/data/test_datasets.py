from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from fontpipe.data.datasets import MANIFEST, open_dataset, write_dataset
from fontpipe.data.generation import GenerateConfig
from fontpipe.errors import FontpipeError


def test_written_dataset_schema_manifest_and_chunks(tmp_path):
    config = small()
    dataset, reused = write_dataset(config, tmp_path / "ds")
    assert not reused
    manifest = json.loads((tmp_path / "ds" / MANIFEST).read_text())
    assert (
        manifest["rule"] == "mean"
        and manifest["seed"] == 7
        and manifest["sampling"] == "uniform-int"
    )
    assert {
        s: manifest["splits"][s]["rows"] for s in ("train", "val", "test")
    } == config.split_rows()
    assert manifest["fontpipe_version"]
    assert len(manifest["fingerprint"]) == 32
    # 8000 train rows in files of at most 3000.
    train_files = dataset.split_files("train")
    assert [pq.read_metadata(f).num_rows for f in train_files] == [3000, 3000, 2000]
    schema = pq.read_schema(train_files[0])
    assert [str(schema.field(c).type) for c in ("r", "g", "b", "label")] == ["uint8"] * 3 + ["int8"]
    assert schema.metadata[b"fontpipe.rule"] == b"mean"
    table = dataset.arrow().to_table()
    assert set(table.column("split").to_pylist()) == {"train", "val", "test"}
    assert table.num_rows == 10_000


def small(**overrides):
    values = {"rows": 10_000, "rows_per_file": 3_000, "seed": 7}
    values.update(overrides)
    return GenerateConfig(**values)


def test_float_dataset_uses_float32_channels(tmp_path):
    dataset, _ = write_dataset(small(sampling="uniform-float"), tmp_path / "ds")
    schema = pq.read_schema(dataset.split_files("val")[0])
    assert str(schema.field("r").type) == "float"


def split_colours(dataset):
    """Each split's distinct colours (float channels rounded to the colour they belong to)."""
    colours = {}
    for split in ("train", "val", "test"):
        table = dataset.split_dataset(split).to_table()
        columns = (np.rint(table.column(c).to_numpy()).astype(int) for c in "rgb")
        colours[split] = set(zip(*columns, strict=True))
    return colours


@pytest.mark.parametrize("sampling", ["uniform-int", "boundary", "uniform-float"])
def test_no_colour_is_in_two_splits(sampling, tmp_path):
    # 60,000 rows of a 16.7 M cube: independent draws per split would share dozens of colours
    # (and boundary sampling, drawn from a band of ~700,000, several hundred).
    config = small(rows=60_000, sampling=sampling, rule="wcag", boundary_width=0.002)
    dataset, _ = write_dataset(config, tmp_path / "ds")
    colours = split_colours(dataset)
    assert not colours["train"] & colours["val"]
    assert not colours["train"] & colours["test"]
    assert not colours["val"] & colours["test"]
    record = dataset.manifest["colour_splits"]
    assert record["shared_colours"] == 0
    assert record["distinct_colours"] == {s: len(c) for s, c in colours.items()}
    # Within a file no colour repeats either (a repeat teaches nothing new); files of one
    # split may share some, by chance (each file can be made alone).
    rows = config.split_rows()
    for split, count in record["distinct_colours"].items():
        assert count <= rows[split]
    one_file, _ = write_dataset(
        config.model_copy(update={"rows_per_file": 100_000}), tmp_path / "one-file"
    )
    assert one_file.manifest["colour_splits"]["distinct_colours"] == rows


def test_the_split_of_a_colour_depends_on_the_seed_alone():
    from fontpipe.data.splits import colour_split

    index = np.arange(0, 1 << 24, 97, dtype=np.int64)
    first = colour_split(index, 3, (0.8, 0.1, 0.1))
    assert np.array_equal(first, colour_split(index, 3, (0.8, 0.1, 0.1)))
    assert not np.array_equal(first, colour_split(index, 4, (0.8, 0.1, 0.1)))
    shares = np.bincount(first, minlength=3) / len(index)
    assert shares == pytest.approx([0.8, 0.1, 0.1], abs=0.005)


def test_cube_sampling_is_an_exact_fit_with_no_val_or_test(tmp_path):
    dataset, _ = write_dataset(small(rows=2_000, sampling="cube"), tmp_path / "cube")
    assert dataset.split_rows("train") == 1 << 24
    assert dataset.split_rows("val") == dataset.split_rows("test") == 0
    assert dataset.manifest["colour_splits"]["distinct_colours"]["train"] == 1 << 24


def test_same_parameters_reuse_and_force_rebuilds(tmp_path):
    target = tmp_path / "ds"
    first, _ = write_dataset(small(), target)
    marker = target / "split=train" / "part-00000.parquet"
    mtime = marker.stat().st_mtime_ns
    again, reused = write_dataset(small(), target)
    assert reused and again.fingerprint == first.fingerprint
    assert marker.stat().st_mtime_ns == mtime  # nothing rewritten
    rebuilt, reused = write_dataset(small(), target, force=True)
    assert not reused and rebuilt.fingerprint == first.fingerprint  # same bytes, rewritten
    assert marker.stat().st_mtime_ns != mtime


def test_other_parameters_refuse_to_overwrite_without_force(tmp_path):
    write_dataset(small(), tmp_path / "ds")
    with pytest.raises(FontpipeError, match="--force"):
        write_dataset(small(seed=99), tmp_path / "ds")


def test_interrupted_write_leaves_no_dataset(tmp_path):
    target = tmp_path / "ds"
    calls = []

    def explode(rows):
        calls.append(rows)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_dataset(small(), target, progress=explode)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # the staging directory is gone too


def test_interrupted_force_rebuild_keeps_the_old_dataset(tmp_path):
    target = tmp_path / "ds"
    old, _ = write_dataset(small(), target)

    def explode(rows):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_dataset(small(), target, force=True, progress=explode)
    assert open_dataset(target).fingerprint == old.fingerprint


def test_output_path_that_is_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(FontpipeError, match="is a file"):
        write_dataset(small(), tmp_path / "file")


def test_open_refuses_foreign_and_corrupt_directories(tmp_path):
    with pytest.raises(FontpipeError, match="no such dataset"):
        open_dataset(tmp_path / "missing")
    (tmp_path / "foreign").mkdir()
    with pytest.raises(FontpipeError, match="not a fontpipe dataset"):
        open_dataset(tmp_path / "foreign")
    (tmp_path / "foreign" / MANIFEST).write_text("{not json")
    with pytest.raises(FontpipeError, match="corrupt manifest"):
        open_dataset(tmp_path / "foreign")
    dataset, _ = write_dataset(small(), tmp_path / "ds")
    victim = dataset.split_files("train")[0]
    victim.write_bytes(victim.read_bytes()[:100])
    with pytest.raises(FontpipeError, match="corrupt Parquet"):
        open_dataset(tmp_path / "ds")
    victim.unlink()
    with pytest.raises(FontpipeError, match="missing"):
        open_dataset(tmp_path / "ds")


def test_generation_leaves_no_lock_file_after_success_or_failure(tmp_path, private_tmp):
    target = tmp_path / "ds"
    write_dataset(small(), target)
    write_dataset(small(), target)  # reused
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("mine")
    with pytest.raises(FontpipeError, match="already there"):
        write_dataset(small(), tmp_path / "other")

    def explode(rows):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_dataset(small(), tmp_path / "ds2", progress=explode)
    assert list(private_tmp.iterdir()) == []


def test_writers_of_one_dataset_still_take_turns_with_the_lock_file_removed(tmp_path, private_tmp):
    """Threads hammer one target's lock: one holder at a time, even as each holder removes the
    file that the next ones opened and are waiting on, and no file is left at the end."""
    import threading
    import time

    from fontpipe.data.datasets import target_lock

    inside, most, errors = [0], [0], []
    guard = threading.Lock()

    def writer():
        try:
            for _ in range(60):
                with target_lock(tmp_path / "ds"):
                    with guard:
                        inside[0] += 1
                        most[0] = max(most[0], inside[0])
                    time.sleep(0.0005)
                    with guard:
                        inside[0] -= 1
        except Exception as exc:  # reported below: a thread's failure would pass unseen
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and most[0] == 1
    assert list(private_tmp.iterdir()) == []


def test_a_second_generate_of_the_same_dataset_waits_then_reuses(tmp_path, private_tmp):
    from concurrent.futures import ThreadPoolExecutor

    config = small()
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: write_dataset(config, tmp_path / "ds"), range(2)))
    assert sorted(reused for _, reused in results) == [False, True]
    assert results[0][0].fingerprint == results[1][0].fingerprint
    assert list(private_tmp.iterdir()) == []
