"""Payloads built from the value codec (records.py): WAL commit records and
checkpoint image chunks. Rows go through rowshapes.encode_pairs, which packs
rows of a common shape in one step and gives the same bytes as the generic
encoder.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from itertools import islice
from typing import Any

from aiondb.storage.catalog import Catalog, TableDef
from aiondb.storage.database import ChangeSet, Database
from aiondb.storage.records import _I, _corrupt, decode_value, encode_value
from aiondb.storage.rowshapes import PairBytes, decode_pairs, encode_pairs, pair_bytes_encoder
from aiondb.storage.table import TableData


# --- row streams (checkpoint image chunks) ---------------------------------------------------
def encode_items(items: Iterable[tuple[Any, tuple]], chunk_size: int = 1 << 20
                 ) -> Iterable[bytes]:
    """(key, row) pairs → chunk payloads of about chunk_size bytes."""
    it = iter(items)
    out = bytearray()
    while True:
        batch = list(islice(it, 1024))
        if not batch:
            break
        encode_pairs(batch, out, False)
        if len(out) >= chunk_size:
            yield bytes(out)
            out = bytearray()
    if out:
        yield bytes(out)


def decode_items(buf: bytes, into: dict[Any, tuple]) -> int:
    """Add a chunk's (key, row) pairs to `into`; returns how many keys it added."""
    before = len(into)
    try:
        pos = decode_pairs(buf, 0, None, into, False)  # type: ignore[arg-type]
    except (IndexError, struct.error, UnicodeDecodeError, ValueError, OverflowError) as exc:
        raise _corrupt(f"row data: {exc}") from None
    if pos != len(buf):
        raise _corrupt("row data overruns its chunk")
    return len(into) - before


# --- commit records --------------------------------------------------------------------------
COMMIT_FORMAT = 1
_REASON_CODE = {"new": 0, "truncated": 1, "rewritten": 2}
_REASON_NAME = {v: k for k, v in _REASON_CODE.items()}
_IBI = struct.Struct("<IBI")
_II = struct.Struct("<II")
F_CATALOG = 1
# format, no flags, no replaced tables, one table of row writes
_ONE_TABLE_HEAD = bytes((COMMIT_FORMAT, 0)) + _I.pack(0) + _I.pack(1)
_NO_SEQUENCES = _I.pack(0)


def encode_commit(cs: ChangeSet) -> bytearray:
    """A change set as a commit record payload (format COMMIT_FORMAT).

        u8 format, u8 flags [catalog as a map value]
        u32 n × (u32 oid, u8 reason, u32 rows, rows × (key, row))   replaced tables
        u32 n × (u32 oid, u32 writes, writes × (key, u8 0 | 1 row)) row writes
        u32 n × (u32 oid, last value, is_called)                    sequences
    """
    writes = cs.writes
    if cs.catalog is None and not cs.tables and not cs.sequences and len(writes) == 1:
        # the commonest commit, a few rows of one table: the same bytes, fewer steps
        for oid, w in writes.items():
            out = bytearray(_ONE_TABLE_HEAD)
            _encode_writes(oid, w, out)
            out += _NO_SEQUENCES
            return out
    out = bytearray((COMMIT_FORMAT, F_CATALOG if cs.catalog is not None else 0))
    if cs.catalog is not None:
        encode_value(cs.catalog.to_dict(), out)
    out += _I.pack(len(cs.tables))
    for oid, (td, reason) in cs.tables.items():
        out += _IBI.pack(oid, _REASON_CODE[reason], len(td.rows))
        encode_pairs(td.rows.items(), out, False)
    out += _I.pack(len(cs.writes))
    for oid, w in cs.writes.items():
        _encode_writes(oid, w, out)
    out += _I.pack(len(cs.sequences))
    for oid, (last, called) in cs.sequences.items():
        out += _I.pack(oid)
        encode_value(last, out)
        encode_value(called, out)
    return out      # not copied into bytes: a big commit's payload is large


def encode_single_write(oid: int, key: Any, row: tuple) -> bytes | bytearray:
    """encode_commit's bytes for a change set of one row write to one table,
    built by one generated function per table and row shape (the whole
    payload in one struct call per string); the table's last one is tried
    first, as the next row most likely has the same shape."""
    enc = _LAST_ENCODER.get(oid)
    if enc is not None:
        out = enc(key, row)
        if out is not None:
            return out
    shape = (type(key), *map(type, row))
    enc = _SINGLE_WRITE.get((oid, shape))
    if enc is None:
        if len(_SINGLE_WRITE) >= 1024:
            _SINGLE_WRITE.clear()
        enc = _SINGLE_WRITE[oid, shape] = pair_bytes_encoder(
            shape, True, _ONE_TABLE_HEAD + _II.pack(oid, 1), _NO_SEQUENCES)
    if len(_LAST_ENCODER) >= 1024:
        _LAST_ENCODER.clear()
    _LAST_ENCODER[oid] = enc
    out = enc(key, row)
    if out is not None:
        return out
    # a value the shape's fixed path cannot take (an int beyond 64 bits, a long string)
    buf = bytearray(_ONE_TABLE_HEAD)
    _encode_writes(oid, {key: row}, buf)
    buf += _NO_SEQUENCES
    return buf


_LAST_ENCODER: dict[int, PairBytes] = {}
_SINGLE_WRITE: dict[tuple[int, tuple[type, ...]], PairBytes] = {}


def _encode_writes(oid: int, w: dict[Any, tuple | None], out: bytearray) -> None:
    out += _II.pack(oid, len(w))
    encode_pairs(w.items(), out, True)


def decode_commit(buf: bytes, db: Database) -> ChangeSet:
    """Rebuild a change set for replay against `db` (its catalog as of just
    before this record is the one table images are built with)."""
    try:
        return _decode_commit(buf, db)
    except (IndexError, struct.error, UnicodeDecodeError, ValueError, OverflowError,
            KeyError, TypeError) as exc:
        raise _corrupt(f"commit record: {exc!r}") from None


def _decode_commit(buf: bytes, db: Database) -> ChangeSet:
    if buf[0] != COMMIT_FORMAT:
        raise _corrupt(f"unknown commit record format {buf[0]}")
    flags = buf[1]
    pos = 2
    cs = ChangeSet()
    if flags & F_CATALOG:
        d, pos = decode_value(buf, pos)
        cs.catalog = Catalog.from_dict(d)
    catalog = cs.catalog if cs.catalog is not None else db.catalog
    (n,) = _I.unpack_from(buf, pos)
    pos += 4
    for _ in range(n):
        oid, reason, nrows = _IBI.unpack_from(buf, pos)
        pos += 9
        rows: dict[Any, tuple] = {}
        pos = decode_pairs(buf, pos, nrows, rows, False)  # type: ignore[arg-type]
        rel = catalog.relations.get(oid)
        if isinstance(rel, TableDef):
            td = TableData(rel, catalog.indexes_of(oid))
            td.load(rows.items())
            cs.tables[oid] = (td, _REASON_NAME[reason])
    (n,) = _I.unpack_from(buf, pos)
    pos += 4
    for _ in range(n):
        oid, nw = _II.unpack_from(buf, pos)
        pos += 8
        w: dict[Any, tuple | None] = {}
        pos = decode_pairs(buf, pos, nw, w, True)
        cs.writes[oid] = w
    (n,) = _I.unpack_from(buf, pos)
    pos += 4
    for _ in range(n):
        (oid,) = _I.unpack_from(buf, pos)
        last, pos = decode_value(buf, pos + 4)
        called, pos = decode_value(buf, pos)
        cs.sequences[oid] = [last, called]
    if pos != len(buf):
        raise _corrupt(f"commit record has {len(buf) - pos} trailing bytes")
    return cs
