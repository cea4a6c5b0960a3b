"""Arrow arrays as numpy arrays, without pandas.

pyarrow's `Array.to_numpy` imports pandas whenever it is installed (its pandas-compatibility
shim), which costs a scoring command start-up time and memory (docs/bench.md). Fixed-width
numbers and booleans without nulls are read straight from their buffers here; anything else
goes through pyarrow.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

_NUMPY_TYPES: dict[pa.DataType, type[np.generic]] = {
    pa.int8(): np.int8,
    pa.int16(): np.int16,
    pa.int32(): np.int32,
    pa.int64(): np.int64,
    pa.uint8(): np.uint8,
    pa.uint16(): np.uint16,
    pa.uint32(): np.uint32,
    pa.uint64(): np.uint64,
    pa.float32(): np.float32,
    pa.float64(): np.float64,
}


def to_numpy(array: pa.Array | pa.ChunkedArray) -> npt.NDArray[Any]:
    """The values of `array` as a numpy array (a zero-copy view where the type allows)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.null_count == 0:
        dtype = _NUMPY_TYPES.get(array.type)
        if dtype is not None:
            data = array.buffers()[1]
            values: npt.NDArray[Any] = np.frombuffer(data, dtype=dtype)
            return values[array.offset : array.offset + len(array)]
        if pa.types.is_boolean(array.type):
            bits = np.frombuffer(array.buffers()[1], dtype=np.uint8)
            unpacked = np.unpackbits(bits, bitorder="little")
            flags: npt.NDArray[np.bool_] = unpacked[
                array.offset : array.offset + len(array)
            ].astype(bool)
            return flags
    fallback: npt.NDArray[Any] = array.to_numpy(zero_copy_only=False)
    return fallback


_ARROW_TYPES: dict[np.dtype[Any], pa.DataType] = {
    np.dtype(numpy_type): arrow_type for arrow_type, numpy_type in _NUMPY_TYPES.items()
}


def from_numpy(values: npt.NDArray[Any]) -> pa.Array:
    """A 1-d numpy array of numbers or booleans as an Arrow array, built on its buffer (for
    numbers, zero-copy). `pa.array(ndarray)` also imports pandas when it is installed."""
    values = np.ascontiguousarray(values)
    if values.dtype == np.bool_:
        bits = np.packbits(values, bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)])
    arrow_type = _ARROW_TYPES.get(values.dtype)
    if arrow_type is None:
        return pa.array(values)
    return pa.Array.from_buffers(arrow_type, len(values), [None, pa.py_buffer(values)])


def strings(values: list[str]) -> pa.Array:
    """A short list of strings as an Arrow string array, built on its buffers (see from_numpy)."""
    encoded = [value.encode() for value in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    data = b"".join(encoded)
    return pa.Array.from_buffers(
        pa.string(), len(encoded), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
