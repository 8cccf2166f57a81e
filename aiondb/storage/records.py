"""Binary encoding of values, rows and keys: our own compact format,
stable across Python versions (no pickle, no marshal). Commit payloads and
checkpoint image chunks are built from these in payloads.py.

A value is a one-byte tag followed by its body (little-endian). Tags are
append-only: a tag, once written to disk, keeps its meaning forever; new
types get new tags. Commit payloads start with their own format version.

    0 NULL   1 false   2 true   3 int64   4 big int (u32 len + two's compl.)
    5 float64   6 numeric (u16 len + str(Decimal))   7 text (u32 len + UTF-8)
    8 text (u8 len + UTF-8)   9 bytea (u32 len)   10 date (i32 ordinal)
    11 time (i64 µs of day)   12 timetz (i64 µs, i64 offset µs)
    13 timestamp (i64 µs since 0001-01-01)   14 timestamptz (+ i64 offset µs)
    15 interval (i32 months, i32 days, i64 µs)   16 interval with big fields
    17 uuid (16 bytes)   18 JSON null   19 map (u32 n, n × key, value)
    20 list (u32 n, items)   21 tuple (u32 n, items)   22 float vector
    (u32 n, n × f64)

Speed: encoding dispatches on type(value) through one dict; decoding
inlines the common tags and dispatches the rest by tag through a list.
"""

from __future__ import annotations

import datetime as _dt
import struct
import uuid as _uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aiondb import errors
from aiondb.values import JSON_NULL, Interval, _JsonNull

T_NONE, T_FALSE, T_TRUE, T_INT, T_BIGINT, T_FLOAT, T_NUMERIC, T_STR, T_STR8, T_BYTES = range(10)
(T_DATE, T_TIME, T_TIMETZ, T_TS, T_TSTZ, T_INTERVAL, T_INTERVAL_BIG, T_UUID, T_JSON_NULL,
 T_MAP) = range(10, 20)
T_LIST, T_TUPLE, T_VECTOR = range(20, 23)

_B = struct.Struct("<B")
_BQ = struct.Struct("<Bq")
_BD = struct.Struct("<Bd")
_BI = struct.Struct("<BI")
_BB = struct.Struct("<BB")
_BH = struct.Struct("<BH")
_Bi = struct.Struct("<Bi")
_Bqq = struct.Struct("<Bqq")
_Biiq = struct.Struct("<Biiq")
_q = struct.Struct("<q")
_qq = struct.Struct("<qq")
_d = struct.Struct("<d")
_I = struct.Struct("<I")
_H = struct.Struct("<H")
_i = struct.Struct("<i")
_iiq = struct.Struct("<iiq")

_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1
_USEC_DAY = 86_400_000_000
_DT_ZERO = _dt.datetime(1, 1, 1)
_UTC = _dt.UTC

Out = bytearray


# --- encoding ------------------------------------------------------------------------------
def _enc_none(v: Any, out: Out) -> None:
    out.append(T_NONE)


def _enc_bool(v: bool, out: Out) -> None:
    out.append(T_TRUE if v else T_FALSE)


def _enc_int(v: int, out: Out) -> None:
    if _I64_MIN <= v <= _I64_MAX:
        out += _BQ.pack(T_INT, v)
    else:
        b = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
        out += _BI.pack(T_BIGINT, len(b))
        out += b


def _enc_float(v: float, out: Out) -> None:
    out += _BD.pack(T_FLOAT, v)


def _enc_decimal(v: Decimal, out: Out) -> None:
    b = str(v).encode("ascii")
    out += _BH.pack(T_NUMERIC, len(b))
    out += b


def _enc_str(v: str, out: Out) -> None:
    b = v.encode("utf-8", "surrogatepass")
    n = len(b)
    if n < 256:
        out += _BB.pack(T_STR8, n)
    else:
        out += _BI.pack(T_STR, n)
    out += b


def _enc_bytes(v: bytes | bytearray | memoryview, out: Out) -> None:
    b = bytes(v)
    out += _BI.pack(T_BYTES, len(b))
    out += b


def _micros_of_day(t: _dt.time | _dt.datetime) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def _offset_micros(v: _dt.time | _dt.datetime) -> int:
    off = v.utcoffset()
    assert off is not None
    return (off.days * 86400 + off.seconds) * 1_000_000 + off.microseconds


def _enc_date(v: _dt.date, out: Out) -> None:
    out += _Bi.pack(T_DATE, v.toordinal())


def _enc_time(v: _dt.time, out: Out) -> None:
    if v.tzinfo is None:
        out += _BQ.pack(T_TIME, _micros_of_day(v))
    else:
        out += _Bqq.pack(T_TIMETZ, _micros_of_day(v), _offset_micros(v))


def _enc_datetime(v: _dt.datetime, out: Out) -> None:
    us = (v.toordinal() - 1) * _USEC_DAY + _micros_of_day(v)
    if v.tzinfo is None:
        out += _BQ.pack(T_TS, us)
    else:
        out += _Bqq.pack(T_TSTZ, us, _offset_micros(v))


def _enc_interval(v: Interval, out: Out) -> None:
    try:
        out += _Biiq.pack(T_INTERVAL, v.months, v.days, v.micros)
    except struct.error:
        out.append(T_INTERVAL_BIG)
        _enc_int(v.months, out)
        _enc_int(v.days, out)
        _enc_int(v.micros, out)


def _enc_uuid(v: _uuid.UUID, out: Out) -> None:
    out.append(T_UUID)
    out += v.bytes


def _enc_json_null(v: Any, out: Out) -> None:
    out.append(T_JSON_NULL)


def _enc_map(v: dict, out: Out) -> None:
    out += _BI.pack(T_MAP, len(v))
    enc = encode_value
    for k, x in v.items():
        enc(k, out)
        enc(x, out)


def _enc_list(v: list, out: Out) -> None:
    out += _BI.pack(T_LIST, len(v))
    for x in v:
        encode_value(x, out)


def _enc_tuple(v: tuple, out: Out) -> None:
    n = len(v)
    if n and all(type(x) is float for x in v):
        out += _BI.pack(T_VECTOR, n)
        out += struct.pack(f"<{n}d", *v)
        return
    out += _BI.pack(T_TUPLE, n)
    for x in v:
        encode_value(x, out)


_ENC: dict[type, Callable[[Any, Out], None]] = {
    type(None): _enc_none, bool: _enc_bool, int: _enc_int, float: _enc_float,
    Decimal: _enc_decimal, str: _enc_str, bytes: _enc_bytes, bytearray: _enc_bytes,
    memoryview: _enc_bytes, _dt.date: _enc_date, _dt.time: _enc_time,
    _dt.datetime: _enc_datetime, Interval: _enc_interval, _uuid.UUID: _enc_uuid,
    _JsonNull: _enc_json_null, dict: _enc_map, list: _enc_list, tuple: _enc_tuple,
}


def _encoder_for(tp: type) -> Callable[[Any, Out], None]:
    """Subclasses (IntEnum, str subclasses ...) use their base's encoder."""
    for base in tp.__mro__:
        fn = _ENC.get(base)
        if fn is not None:
            _ENC[tp] = fn
            return fn
    raise errors.InternalError(f"cannot store a value of Python type {tp.__name__}")


def encode_value(v: Any, out: Out) -> None:
    fn = _ENC.get(type(v))
    if fn is None:
        fn = _encoder_for(type(v))
    fn(v, out)


def encode_row(row: tuple, out: Out) -> None:
    out += _H.pack(len(row))
    enc = _ENC
    for v in row:
        tp = type(v)
        # the commonest cases inline (saves a call per value)
        if tp is int and _I64_MIN <= v <= _I64_MAX:
            out += _BQ.pack(T_INT, v)
        elif v is None:
            out.append(T_NONE)
        else:
            fn = enc.get(tp)
            if fn is None:
                fn = _encoder_for(tp)
            fn(v, out)


def dumps(v: Any) -> bytes:
    out = bytearray()
    encode_value(v, out)
    return bytes(out)


# --- decoding ------------------------------------------------------------------------------
def _corrupt(what: str) -> errors.DataCorrupted:
    return errors.DataCorrupted(f"stored data is malformed: {what}")


def _d_bigint(buf: bytes, pos: int) -> tuple[Any, int]:
    n = _I.unpack_from(buf, pos)[0]
    pos += 4
    return int.from_bytes(buf[pos:pos + n], "little", signed=True), pos + n


def _d_float(buf: bytes, pos: int) -> tuple[Any, int]:
    return _d.unpack_from(buf, pos)[0], pos + 8


def _d_numeric(buf: bytes, pos: int) -> tuple[Any, int]:
    n = _H.unpack_from(buf, pos)[0]
    pos += 2
    return Decimal(buf[pos:pos + n].decode("ascii")), pos + n


def _d_str(buf: bytes, pos: int) -> tuple[Any, int]:
    n = _I.unpack_from(buf, pos)[0]
    pos += 4
    return buf[pos:pos + n].decode("utf-8", "surrogatepass"), pos + n


def _d_str8(buf: bytes, pos: int) -> tuple[Any, int]:
    n = buf[pos]
    pos += 1
    return buf[pos:pos + n].decode("utf-8", "surrogatepass"), pos + n


def _d_bytes(buf: bytes, pos: int) -> tuple[Any, int]:
    n = _I.unpack_from(buf, pos)[0]
    pos += 4
    return bytes(buf[pos:pos + n]), pos + n


def _d_date(buf: bytes, pos: int) -> tuple[Any, int]:
    return _dt.date.fromordinal(_i.unpack_from(buf, pos)[0]), pos + 4


def _time_of(us: int) -> _dt.time:
    s, us = divmod(us, 1_000_000)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return _dt.time(h, m, s, us)


def _tz(off: int) -> _dt.timezone:
    return _UTC if off == 0 else _dt.timezone(_dt.timedelta(microseconds=off))


def _d_time(buf: bytes, pos: int) -> tuple[Any, int]:
    return _time_of(_q.unpack_from(buf, pos)[0]), pos + 8


def _d_timetz(buf: bytes, pos: int) -> tuple[Any, int]:
    us, off = _qq.unpack_from(buf, pos)
    return _time_of(us).replace(tzinfo=_tz(off)), pos + 16


def _d_ts(buf: bytes, pos: int) -> tuple[Any, int]:
    return _DT_ZERO + _dt.timedelta(microseconds=_q.unpack_from(buf, pos)[0]), pos + 8


def _d_tstz(buf: bytes, pos: int) -> tuple[Any, int]:
    us, off = _qq.unpack_from(buf, pos)
    return (_DT_ZERO + _dt.timedelta(microseconds=us)).replace(tzinfo=_tz(off)), pos + 16


def _d_interval(buf: bytes, pos: int) -> tuple[Any, int]:
    return Interval(*_iiq.unpack_from(buf, pos)), pos + 16


def _d_interval_big(buf: bytes, pos: int) -> tuple[Any, int]:
    m, pos = decode_value(buf, pos)
    d, pos = decode_value(buf, pos)
    us, pos = decode_value(buf, pos)
    return Interval(m, d, us), pos


def _d_uuid(buf: bytes, pos: int) -> tuple[Any, int]:
    return _uuid.UUID(bytes=bytes(buf[pos:pos + 16])), pos + 16


def _d_map(buf: bytes, pos: int) -> tuple[Any, int]:
    n = _I.unpack_from(buf, pos)[0]
    pos += 4
    d = {}
    for _ in range(n):
        k, pos = decode_value(buf, pos)
        d[k], pos = decode_value(buf, pos)
    return d, pos


def _d_items(buf: bytes, pos: int) -> tuple[list, int]:
    n = _I.unpack_from(buf, pos)[0]
    pos += 4
    items = []
    for _ in range(n):
        v, pos = decode_value(buf, pos)
        items.append(v)
    return items, pos


def _d_tuple(buf: bytes, pos: int) -> tuple[Any, int]:
    items, pos = _d_items(buf, pos)
    return tuple(items), pos


def _d_vector(buf: bytes, pos: int) -> tuple[Any, int]:
    n = _I.unpack_from(buf, pos)[0]
    pos += 4
    return struct.unpack_from(f"<{n}d", buf, pos), pos + 8 * n


def _d_bad(buf: bytes, pos: int) -> tuple[Any, int]:
    raise _corrupt(f"unknown value tag {buf[pos - 1]} at offset {pos - 1}")


_DEC: list[Callable[[bytes, int], tuple[Any, int]]] = [_d_bad] * 256
for _tag, _fn in {
    T_BIGINT: _d_bigint, T_FLOAT: _d_float, T_NUMERIC: _d_numeric, T_STR: _d_str,
    T_STR8: _d_str8, T_BYTES: _d_bytes, T_DATE: _d_date, T_TIME: _d_time,
    T_TIMETZ: _d_timetz, T_TS: _d_ts, T_TSTZ: _d_tstz, T_INTERVAL: _d_interval,
    T_INTERVAL_BIG: _d_interval_big, T_UUID: _d_uuid, T_MAP: _d_map, T_LIST: _d_items,
    T_TUPLE: _d_tuple, T_VECTOR: _d_vector,
}.items():
    _DEC[_tag] = _fn
_CONST = {T_NONE: None, T_FALSE: False, T_TRUE: True, T_JSON_NULL: JSON_NULL}
for _tag, _v in _CONST.items():
    _DEC[_tag] = (lambda v: lambda buf, pos: (v, pos))(_v)
del _tag, _fn, _v

_q_from = _q.unpack_from
_d_from = _d.unpack_from


def decode_value(buf: bytes, pos: int) -> tuple[Any, int]:
    tag = buf[pos]
    if tag == T_INT:
        return _q_from(buf, pos + 1)[0], pos + 9
    if tag == T_STR8:
        n = buf[pos + 1]
        pos += 2
        return buf[pos:pos + n].decode("utf-8", "surrogatepass"), pos + n
    if tag == T_NONE:
        return None, pos + 1
    return _DEC[tag](buf, pos + 1)


def decode_row(buf: bytes, pos: int) -> tuple[tuple, int]:
    n = buf[pos] | buf[pos + 1] << 8
    pos += 2
    vals = []
    append = vals.append
    dec = _DEC
    for _ in range(n):
        tag = buf[pos]
        if tag == T_INT:
            append(_q_from(buf, pos + 1)[0])
            pos += 9
        elif tag == T_STR8:
            k = buf[pos + 1]
            pos += 2
            append(buf[pos:pos + k].decode("utf-8", "surrogatepass"))
            pos += k
        elif tag == T_FLOAT:
            append(_d_from(buf, pos + 1)[0])
            pos += 9
        elif tag == T_NONE:
            append(None)
            pos += 1
        elif tag == T_TRUE or tag == T_FALSE:
            append(tag == T_TRUE)
            pos += 1
        else:
            v, pos = dec[tag](buf, pos + 1)
            append(v)
    return tuple(vals), pos


def loads(buf: bytes) -> Any:
    try:
        v, pos = decode_value(buf, 0)
    except (IndexError, struct.error, UnicodeDecodeError, ValueError, OverflowError) as exc:
        raise _corrupt(str(exc)) from None
    if pos != len(buf):
        raise _corrupt(f"{len(buf) - pos} trailing bytes")
    return v
