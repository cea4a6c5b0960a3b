"""--device is applied: the plan names one device for single-device work and pins the CPU when
asked, and TensorFlow grows GPU memory as needed."""

from __future__ import annotations

import numpy as np
import pytest

from fontpipe.errors import FontpipeError
from fontpipe.quiet import import_tensorflow
from fontpipe.training.colour_rows import gather_colour_rows
from fontpipe.training.devices import plan_devices
from fontpipe.training.table_fit import fit_channel_tables


def test_cpu_is_pinned_and_unknown_devices_are_refused():
    tf = import_tensorflow()
    plan = plan_devices("cpu")
    assert plan.device == "/cpu:0" and "CPU" in plan.description
    with pytest.raises(FontpipeError, match="no such device"):
        plan_devices("/gpu:7,/cpu:0")
    if not tf.config.list_physical_devices("GPU"):
        with pytest.raises(FontpipeError, match="no GPU"):
            plan_devices("gpu")


def test_gpu_memory_grows_as_needed():
    tf = import_tensorflow()
    for gpu in tf.config.list_physical_devices("GPU"):
        assert tf.config.experimental.get_memory_growth(gpu)


def test_the_table_fit_runs_on_the_device_it_is_given():
    tf = import_tensorflow()
    rgb = np.array([[v, v, v] for v in range(0, 256, 3)], dtype=np.float32)
    label = (rgb[:, 0] > 127).astype(np.int8)
    rows = gather_colour_rows([(rgb, label)])
    fit = fit_channel_tables(rows, rows, max_steps=5, device="/cpu:0")
    assert fit.tables.shape == (3, 256)
    # A device that does not exist fails (without soft placement, which would quietly fall
    # back): the fit really is placed where it is told.
    soft = tf.config.get_soft_device_placement()
    tf.config.set_soft_device_placement(False)
    try:
        with pytest.raises((RuntimeError, ValueError, tf.errors.InvalidArgumentError)):
            fit_channel_tables(rows, rows, max_steps=1, device="/device:TPU:9")
    finally:
        tf.config.set_soft_device_placement(soft)
