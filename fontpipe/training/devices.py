"""Where training runs: the TensorFlow distribution strategy for the devices asked for."""

from __future__ import annotations

# TensorFlow and Keras load on first use: they cost seconds at start-up (python -X importtime), and a look-up never needs them.
import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fontpipe.errors import FontpipeError

if TYPE_CHECKING:
    import tensorflow as tf


@dataclass(frozen=True)
class DevicePlan:
    strategy: tf.distribute.Strategy
    description: str  # one line for the user: what trains where
    replicas: int
    jit_compile: bool
    # Multi-worker training (TF_CONFIG): this process's place among `workers` processes, 0 being
    # the chief, which alone saves what training made.
    worker: int = 0
    workers: int = 1
    # One more line for the user about this process's part (multi-worker: which worker it is,
    # and what it reads); not part of the description that a saved version records.
    note: str = ""
    # The one device that single-device work (the channel-table fit) runs on; None for several.
    device: str | None = None

    @property
    def multi_worker(self) -> bool:
        return self.workers > 1


def multi_worker_requested() -> bool:
    """Whether TF_CONFIG asks for multi-worker training (`plan_devices` then makes the strategy,
    which waits for every worker it names)."""
    return bool(os.environ.get("TF_CONFIG"))


def plan_devices(device: str) -> DevicePlan:
    """`auto`: every visible GPU (Mirrored for several), else the CPU; `cpu`; `gpu`; or an explicit
    comma-separated device list such as `/cpu:0,/cpu:1` for a MirroredStrategy over those.

    With TF_CONFIG set, MultiWorkerMirroredStrategy spans the workers it names (every visible
    device of each), whatever `device` says.
    """
    import tensorflow as tf

    if multi_worker_requested():
        return _multi_worker_plan()
    gpus = tf.config.list_logical_devices("GPU")
    if "," in device:
        names = [d.strip() for d in device.split(",") if d.strip()]
        known = {_short_device_name(d.name) for d in tf.config.list_logical_devices()}
        missing = [n for n in names if _short_device_name(n) not in known]
        if missing:
            raise FontpipeError(
                f"--device: no such device {', '.join(missing)}; visible: {', '.join(sorted(known))}"
            )
        strategy = tf.distribute.MirroredStrategy(devices=names)
        return DevicePlan(
            strategy, f"mirrored over {len(names)} devices ({', '.join(names)})", len(names), False
        )
    if device not in {"auto", "cpu", "gpu"}:
        raise FontpipeError(f"--device: expected auto, cpu, gpu or a device list, got {device!r}")
    if device == "gpu" and not gpus:
        raise FontpipeError("--device gpu: no GPU is visible to TensorFlow")
    if device == "cpu" or not gpus:
        note = "no GPU found; training on the CPU" if device == "auto" else "training on the CPU"
        # With a GPU visible, TensorFlow's default strategy would place work on it: pin the CPU.
        strategy = (
            tf.distribute.OneDeviceStrategy("/cpu:0") if gpus else tf.distribute.get_strategy()
        )
        # XLA fuses the tiny dense layers into one kernel per step: ~1.5x faster on the CPU.
        return DevicePlan(strategy, note, 1, True, device="/cpu:0")
    if len(gpus) == 1:
        return DevicePlan(
            tf.distribute.OneDeviceStrategy(gpus[0].name),
            f"training on 1 GPU ({gpus[0].name})",
            1,
            True,
            device=gpus[0].name,
        )
    strategy = tf.distribute.MirroredStrategy()
    return DevicePlan(strategy, f"mirrored over {len(gpus)} GPUs", len(gpus), True)


def _short_device_name(name: str) -> str:
    """'/job:localhost/replica:0/task:0/device:CPU:0', '/device:cpu:0' and '/cpu:0' -> 'cpu:0'."""
    return name.lower().rsplit("/", 1)[-1].removeprefix("device:")


def _multi_worker_plan() -> DevicePlan:
    """MultiWorkerMirroredStrategy over the cluster TF_CONFIG names. Workers are numbered as the
    strategy numbers them: the `chief` task, when there is one, is 0 and `worker` i is i + 1;
    without one, `worker` 0 is the chief."""
    import tensorflow as tf

    try:
        tf_config = json.loads(os.environ["TF_CONFIG"])
        cluster = tf_config["cluster"]
        task_type, task_index = str(tf_config["task"]["type"]), int(tf_config["task"]["index"])
        chiefs, others = len(cluster.get("chief", [])), len(cluster.get("worker", []))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise FontpipeError(
            'TF_CONFIG: expected JSON like {"cluster": {"worker": ["host:port", ...]}, "task": '
            f'{{"type": "worker", "index": 0}}}} ({type(exc).__name__}: {exc})'
        ) from None
    if task_type not in {"chief", "worker"}:
        raise FontpipeError(
            f"TF_CONFIG: task type {task_type!r}; training runs on `chief` and `worker` tasks"
        )
    workers = chiefs + others
    worker = task_index if task_type == "chief" else chiefs + task_index
    if not 0 <= worker < workers:
        raise FontpipeError(
            f"TF_CONFIG: task {task_type} {task_index} is not in the cluster it names"
        )
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    replicas = strategy.num_replicas_in_sync
    role = "the chief" if worker == 0 else "worker 0 is the chief"
    return DevicePlan(
        strategy,
        f"multi-worker training over {replicas} replicas on {workers} workers (TF_CONFIG)",
        replicas,
        False,
        worker=worker,
        workers=workers,
        note=f"this is worker {worker} of {workers} ({role})",
    )
