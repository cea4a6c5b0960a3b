"""Options with a fixed set of values, as Enums: `--help` lists the choices, a typo is refused
by the parser with the list, and shells complete them."""

from __future__ import annotations

from enum import Enum


class Rule(str, Enum):
    mean = "mean"
    wcag = "wcag"
    yiq = "yiq"


class Sampling(str, Enum):
    uniform_int = "uniform-int"
    uniform_float = "uniform-float"
    boundary = "boundary"
    cube = "cube"


class OnError(str, Enum):
    fail = "fail"
    quarantine = "quarantine"


class Scale(str, Enum):
    byte = "255"
    unit = "1"


class Schedule(str, Enum):
    cosine = "cosine"
    exponential = "exponential"
    constant = "constant"


class Architecture(str, Enum):
    mlp = "mlp"
    channel_tables = "channel-tables"


class ExportFormat(str, Enum):
    savedmodel = "savedmodel"
    onnx = "onnx"
    tflite = "tflite"
    json = "json"
