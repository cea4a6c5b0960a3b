"""Joining Parquet files that share one schema into one file without decoding or re-encoding a
page: their bytes are copied as they are, and one footer lists every row group.

Hand-written because pyarrow's ParquetWriter (and DuckDB's COPY) encode on one thread, so a job
writing one file would wait on one core for all of its rows; here each part encodes its own file
on its own core, and assembling is a copy in the kernel plus a footer (`bench/engines.py`,
docs/bench.md).

The footer is parquet.thrift's FileMetaData in Thrift's compact protocol. It is decoded into a
generic tree that re-encodes byte for byte, and only locations change: every byte offset moves by
where its file's bytes land, row groups are renumbered and the row count is summed. Anything this
module does not expect (an encrypted footer, a column chunk kept in another file, schemas that
differ) raises `ParquetJoinError`, and the caller re-encodes instead.
"""

from __future__ import annotations

import os
import struct
from typing import Any

from fontpipe.storage import copy_range

MAGIC = b"PAR1"

# Thrift compact protocol type codes.
_TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(1, 13)

# Field ids in parquet.thrift.
_FILE_NUM_ROWS, _FILE_ROW_GROUPS, _FILE_SCHEMA, _FILE_ENCRYPTION = 3, 4, 2, 8
_FILE_COLUMN_ORDERS = 7
_GROUP_COLUMNS, _GROUP_FILE_OFFSET, _GROUP_ORDINAL = 1, 5, 7
_CHUNK_FILE_PATH, _CHUNK_FILE_OFFSET, _CHUNK_META = 1, 2, 3
_CHUNK_OFFSET_INDEX, _CHUNK_COLUMN_INDEX, _CHUNK_CRYPTO = 4, 6, 8
# ColumnMetaData: data page, index page, dictionary page and bloom filter offsets.
_META_OFFSETS = (9, 10, 11, 14)

# A struct is a list of [field id, compact type, value]; kept in order so it re-encodes as read.
Fields = list[list[Any]]


class ParquetJoinError(Exception):
    """The files cannot be joined by copying (see the module's docstring)."""


class _Decoder:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        value = self.data[self.pos]
        self.pos += 1
        return value

    def varint(self) -> int:
        shift = result = 0
        while True:
            byte = self.byte()
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def take(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def value(self, kind: int) -> Any:
        if kind in (_TRUE, _FALSE, _BYTE):  # a bool inside a collection is one byte
            return self.byte()
        if kind in (_I16, _I32, _I64):
            return self.zigzag()
        if kind == _DOUBLE:
            return self.take(8)
        if kind == _BINARY:
            return self.take(self.varint())
        if kind in (_LIST, _SET):
            header = self.byte()
            size, element = header >> 4, header & 0x0F
            if size == 15:
                size = self.varint()
            return (element, [self.value(element) for _ in range(size)])
        if kind == _MAP:
            size = self.varint()
            if not size:
                return (0, 0, [])
            types = self.byte()
            key, val = types >> 4, types & 0x0F
            return (key, val, [(self.value(key), self.value(val)) for _ in range(size)])
        if kind == _STRUCT:
            return self.struct()
        raise ParquetJoinError(f"unknown Thrift compact type {kind}")

    def struct(self) -> Fields:
        fields: Fields = []
        last = 0
        while True:
            header = self.byte()
            if header == 0:
                return fields
            kind, delta = header & 0x0F, header >> 4
            field = last + delta if delta else self.zigzag()
            last = field
            fields.append(
                [field, kind, kind == _TRUE if kind in (_TRUE, _FALSE) else self.value(kind)]
            )


class _Encoder:
    def __init__(self) -> None:
        self.out = bytearray()

    def varint(self, n: int) -> None:
        while n > 0x7F:
            self.out.append((n & 0x7F) | 0x80)
            n >>= 7
        self.out.append(n)

    def zigzag(self, n: int) -> None:
        self.varint((n << 1) ^ (n >> 63))

    def value(self, kind: int, value: Any) -> None:
        if kind in (_TRUE, _FALSE, _BYTE):
            self.out.append(value)
        elif kind in (_I16, _I32, _I64):
            self.zigzag(value)
        elif kind == _DOUBLE:
            self.out += value
        elif kind == _BINARY:
            self.varint(len(value))
            self.out += value
        elif kind in (_LIST, _SET):
            element, items = value
            if len(items) < 15:
                self.out.append((len(items) << 4) | element)
            else:
                self.out.append(0xF0 | element)
                self.varint(len(items))
            for item in items:
                self.value(element, item)
        elif kind == _MAP:
            key, val, pairs = value
            self.varint(len(pairs))
            if pairs:
                self.out.append((key << 4) | val)
                for k, v in pairs:
                    self.value(key, k)
                    self.value(val, v)
        elif kind == _STRUCT:
            self.struct(value)
        else:
            raise ParquetJoinError(f"unknown Thrift compact type {kind}")

    def struct(self, fields: Fields) -> None:
        last = 0
        for field, kind, value in fields:
            wire = (_TRUE if value else _FALSE) if kind in (_TRUE, _FALSE) else kind
            delta = field - last
            if 0 < delta <= 15:
                self.out.append((delta << 4) | wire)
            else:
                self.out.append(wire)
                self.zigzag(field)
            last = field
            if kind not in (_TRUE, _FALSE):
                self.value(kind, value)
        self.out.append(0)


def _field(fields: Fields, field_id: int) -> list[Any] | None:
    return next((f for f in fields if f[0] == field_id), None)


def _shift(fields: Fields, field_id: int, by: int) -> None:
    found = _field(fields, field_id)
    if found is not None and found[2] > 0:  # 0 means "not set" in some writers' output
        found[2] += by


def decode_footer(data: bytes) -> Fields:
    return _Decoder(data).struct()


def encode_footer(footer: Fields) -> bytes:
    encoder = _Encoder()
    encoder.struct(footer)
    return bytes(encoder.out)


def read_footer(fd: int) -> tuple[int, Fields]:
    """The end of the file's data (where its footer starts) and its decoded footer."""
    size = os.fstat(fd).st_size
    if size < 12:
        raise ParquetJoinError("too short to be a Parquet file")
    tail = os.pread(fd, 8, size - 8)
    (length,) = struct.unpack("<I", tail[:4])
    if tail[4:] != MAGIC or os.pread(fd, 4, 0) != MAGIC or length > size - 12:
        raise ParquetJoinError("not a plain Parquet file (encrypted, or not Parquet)")
    data_end = size - 8 - length
    try:
        footer = decode_footer(os.pread(fd, length, data_end))
    except IndexError:
        raise ParquetJoinError("the footer ends early") from None
    if _field(footer, _FILE_ENCRYPTION) is not None:
        raise ParquetJoinError("an encrypted file")
    return data_end, footer


class FooterJoiner:
    """Collects each file's footer, with where its bytes land in the joined file, and writes the
    joined footer."""

    def __init__(self) -> None:
        self.first: Fields | None = None
        self.groups: list[Any] = []
        self.rows = 0

    def add(self, footer: Fields, shift: int) -> None:
        """One file's footer; its bytes from offset 4 on were copied to offset 4 + `shift`."""
        if self.first is None:
            self.first = footer
        else:
            for field_id in (_FILE_SCHEMA, _FILE_COLUMN_ORDERS):
                if _field(footer, field_id) != _field(self.first, field_id):
                    raise ParquetJoinError("the files' schemas differ")
        rows = _field(footer, _FILE_NUM_ROWS)
        groups = _field(footer, _FILE_ROW_GROUPS)
        if rows is None or groups is None:
            raise ParquetJoinError("a footer without row groups")
        for group in groups[2][1]:
            _shift(group, _GROUP_FILE_OFFSET, shift)
            columns = _field(group, _GROUP_COLUMNS)
            for chunk in columns[2][1] if columns is not None else []:
                if _field(chunk, _CHUNK_FILE_PATH) or _field(chunk, _CHUNK_CRYPTO):
                    raise ParquetJoinError("a column chunk in another file, or encrypted")
                for field_id in (_CHUNK_FILE_OFFSET, _CHUNK_OFFSET_INDEX, _CHUNK_COLUMN_INDEX):
                    _shift(chunk, field_id, shift)
                meta = _field(chunk, _CHUNK_META)
                if meta is not None:
                    for field_id in _META_OFFSETS:
                        _shift(meta[2], field_id, shift)
            self.groups.append(group)
        self.rows += rows[2]

    def footer(self) -> bytes:
        """The joined FileMetaData, its length and the closing magic."""
        if self.first is None:
            raise ParquetJoinError("no file to join")
        if len(self.groups) > 32767:  # RowGroup.ordinal is an i16
            raise ParquetJoinError("more row groups than one footer can number")
        for ordinal, group in enumerate(self.groups):
            found = _field(group, _GROUP_ORDINAL)
            if found is not None:
                found[2] = ordinal
        joined = [list(f) for f in self.first]
        for field in joined:
            if field[0] == _FILE_NUM_ROWS:
                field[2] = self.rows
            elif field[0] == _FILE_ROW_GROUPS:
                field[2] = (_STRUCT, self.groups)
        encoded = encode_footer(joined)
        return encoded + struct.pack("<I", len(encoded)) + MAGIC


class JoinedParquetFile:
    """One Parquet file at `target`, built from whole Parquet files appended in order."""

    def __init__(self, target: str | os.PathLike[str]) -> None:
        self.target = target
        self._fd: int | None = None
        self._footers = FooterJoiner()

    def append(self, piece: str | os.PathLike[str]) -> None:
        source = os.open(piece, os.O_RDONLY)
        try:
            data_end, footer = read_footer(source)
            if self._fd is None:
                self._fd = os.open(self.target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.write(self._fd, MAGIC)
            position = os.lseek(self._fd, 0, os.SEEK_END)
            self._footers.add(footer, position - len(MAGIC))
            copy_range(source, self._fd, len(MAGIC), data_end - len(MAGIC))
        finally:
            os.close(source)

    def finish(self) -> None:
        if self._fd is None:
            raise ParquetJoinError("no file to join")
        os.write(self._fd, self._footers.footer())
        self.close()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
