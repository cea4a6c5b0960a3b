"""Multi-worker training for real: two `fontpipe train` processes on 127.0.0.1, one TF_CONFIG
each (worker 0 the chief), train one model with MultiWorkerMirroredStrategy over a streamed,
file-sharded train split; the chief alone saves it."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fontpipe.data.datasets import iter_file_chunks, open_dataset, read_split_arrays
from fontpipe.registry.versions import list_versions, load_version, weights_sha256

pytestmark = pytest.mark.slow

FONTPIPE = str(Path(sys.executable).with_name("fontpipe"))
WORKERS = 2
TIMEOUT_S = 240  # for both workers together; they take about 10 s on 2 cores, so only a hang
# comes near it (a worker whose peer died waits in a collective op)

# Printed by each worker before training: which worker it is and the train files it reads.
READS = re.compile(
    r"^this is worker (\d+) of (\d+) \(.*\); it reads (\d+) of the (\d+) train files: (.+)$",
    re.MULTILINE,
)
FINISHED = re.compile(
    r"^worker 1 of 2 finished training \(weights sha256 ([0-9a-f]{16})\); "
    r"the chief, worker 0, saves the model version$",
    re.MULTILINE,
)


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    """6,400 train rows in four files of 1,600, so that each worker has whole files to read."""
    out = tmp_path_factory.mktemp("mw") / "ds"
    generate = ["generate", "--rows", "8000", "--rows-per-file", "1600", "--sampling", "boundary"]
    done = subprocess.run(
        [FONTPIPE, *generate, "--seed", "11", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(open_dataset(out).split_files("train")) == 4
    return out


def _free_ports(n: int) -> list[int]:
    """n distinct free ports on 127.0.0.1: every socket is bound before any is closed."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _train_two_workers(dataset_dir: Path, models: Path, logs: Path) -> list[tuple[int, str]]:
    """Start both workers at once and wait for both: (exit code, output) of each."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(WORKERS)]}
    command = [FONTPIPE, "train", "--dataset", str(dataset_dir), "--models-dir", str(models)]
    # Two short epochs of the global batch over the whole split; a budget of 0 MB streams the
    # split from its files instead of holding it in memory.
    command += ["--epochs", "2", "--batch-size", "128", "--memory-budget-mb", "0"]
    processes = []
    for index in range(WORKERS):
        env = {
            **os.environ,
            "TF_CONFIG": json.dumps(
                {"cluster": cluster, "task": {"type": "worker", "index": index}}
            ),
            "CUDA_VISIBLE_DEVICES": "",
        }
        with (logs / f"worker-{index}.txt").open("w") as log:
            processes.append(
                subprocess.Popen(
                    command,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
            )
    deadline = time.monotonic() + TIMEOUT_S
    try:
        for process in processes:
            process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        for process in processes:
            if process.poll() is None:  # one worker failed and the other waits for it: stop it
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    return [
        (process.returncode, (logs / f"worker-{index}.txt").read_text())
        for index, process in enumerate(processes)
    ]


def test_two_workers_train_one_model_and_only_the_chief_saves_it(dataset_dir, tmp_path, data_root):
    # data_root: FONTPIPE_DATA, which the workers inherit, points into tmp_path too.
    models = tmp_path / "models"  # one directory for both, as on a shared file system
    (chief_code, chief_out), (worker_code, worker_out) = _train_two_workers(
        dataset_dir, models, tmp_path
    )
    assert chief_code == 0, chief_out
    assert worker_code == 0, worker_out

    # The chief saved exactly one version, and nothing else was left in the directory; the
    # worker says it saved nothing.
    (name,) = list_versions(models)
    assert sorted(p.name for p in models.iterdir()) == [name]
    assert f"saved model version {name}" in chief_out
    assert "saved model version" not in worker_out
    finished = FINISHED.search(worker_out)
    assert finished, worker_out

    # Sharding: each worker read its own train files, none read by both, all read by one.
    all_files = {str(f) for f in open_dataset(dataset_dir).manifest["splits"]["train"]["files"]}
    read: dict[int, set[str]] = {}
    for out in (chief_out, worker_out):
        match = READS.search(out)
        assert match, out
        index, workers, count, total, names = match.groups()
        assert (int(workers), int(total)) == (WORKERS, len(all_files))
        read[int(index)] = set(names.split(", "))
        assert len(read[int(index)]) == int(count) > 0
    assert sorted(read) == [0, 1]
    assert not read[0] & read[1]
    assert read[0] | read[1] == all_files

    # One model: the weights the worker ended with are the weights the chief ended with and
    # recorded (weights_sha256 is computed from the chief's model in memory), and the saved
    # file holds exactly those.
    loaded = load_version(models / name)  # checks the model file against its checksum
    metadata = loaded.version.metadata
    assert metadata.weights_sha256 is not None
    assert metadata.weights_sha256.startswith(finished.group(1))
    assert weights_sha256(loaded.model) == metadata.weights_sha256
    assert metadata.replicas == WORKERS and "multi-worker" in metadata.device
    assert metadata.epochs_run == 2

    # The saved model decides the test split's colours as the chief did in memory: the same
    # number right as the test accuracy the chief measured after training, and the same loss.
    rgb, label = read_split_arrays(open_dataset(dataset_dir), "test")
    logits = np.asarray(loaded.model.predict(rgb, batch_size=4096, verbose=0), np.float64)
    right = int((logits.argmax(axis=1) == label).sum())
    test = metadata.metrics["test"]
    assert test["accuracy"] is not None and test["loss"] is not None
    assert right == round(test["accuracy"] * len(label))
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = float(-log_p[np.arange(len(label)), label].mean())
    assert loss == pytest.approx(test["loss"], rel=1e-4)
    assert right / len(label) > 0.8, "two epochs on the boundary data should learn the rule"


def test_each_worker_streams_only_the_rows_of_its_own_files(dataset_dir):
    """The pipeline a worker trains on, read in this process: its batches hold the rows of its
    files and no others."""
    from fontpipe.training.inputs import InputConfig, shard_split, worker_batches

    dataset = open_dataset(dataset_dir)
    config = InputConfig(batch_size=128, memory_budget_mb=0)

    def rows_of(names):
        return {
            tuple(row)
            for name in names
            for rgb, label in iter_file_chunks(str(dataset.path / name))
            for row in np.column_stack([rgb, label]).astype(np.int64)
        }

    seen = []
    for index in range(WORKERS):
        shard = shard_split(dataset, "train", index, WORKERS)
        assert not shard.by_rows and len(shard.files) == 2
        own = rows_of(shard.files)
        drawn = set()
        # Ten passes over the worker's 3,200 rows: every row has left the shuffle buffer.
        for rgb, label in worker_batches(dataset, shard, config, seed=0).take(250):
            assert rgb.shape == (128, 3)
            batch = np.column_stack([rgb.numpy(), label.numpy()]).astype(np.int64)
            drawn |= {tuple(row) for row in batch}
        assert drawn == own
        seen.append(own)
    assert seen[0] | seen[1] == rows_of(dataset.manifest["splits"]["train"]["files"])
