"""Binary wire formats (send/recv) of the common types."""

from __future__ import annotations

import datetime as dt
import struct
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql import textio
from aiondb.values import USECS_PER_DAY, USECS_PER_SEC, Interval

_EPOCH_DATE = dt.date(2000, 1, 1)
_EPOCH_TS = dt.datetime(2000, 1, 1)
_EPOCH_TSTZ = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_EPOCH_ORD = _EPOCH_DATE.toordinal()
_I16 = struct.Struct("!h")
_I32 = struct.Struct("!i")
_I64 = struct.Struct("!q")
_U32 = struct.Struct("!I")
_U64 = struct.Struct("!Q")
_F32 = struct.Struct("!f")
_F64 = struct.Struct("!d")
_IV = struct.Struct("!qii")


def _bad(t: T.SqlType) -> errors.DatabaseError:
    return errors.InvalidBinaryRepresentation(
        f"incorrect binary data format for type {t.sql_name()}")


def _check_size(t: T.SqlType, b: bytes, n: int) -> None:
    """PostgreSQL's recv functions read fields off the message: too few bytes
    is a protocol violation (08P01), bytes left over a bad value (22P03)."""
    if len(b) < n:
        raise errors.ProtocolViolation("insufficient data left in message")
    if len(b) > n:
        raise _bad(t)


# --- numeric ---------------------------------------------------------------------------------------

def numeric_send(v: Decimal) -> bytes:
    if v.is_nan():
        return struct.pack("!hhHh", 0, 0, 0xC000, 0)
    if v.is_infinite():
        return struct.pack("!hhHh", 0, 0, 0xD000 if v > 0 else 0xF000, 0)
    sign, digits, exp = v.as_tuple()
    assert isinstance(exp, int)
    dscale = max(-exp, 0)
    text = "".join(map(str, digits))
    if exp > 0:
        text += "0" * exp
        exp = 0
    # more fractional digits than digits (0.0909): the missing ones are zeros
    text = text.rjust(-exp, "0")
    int_part = text[:len(text) + exp]
    frac_part = text[len(text) + exp:]
    int_part = int_part.lstrip("0")
    pad_int = (-len(int_part)) % 4
    int_part = "0" * pad_int + int_part
    pad_frac = (-len(frac_part)) % 4
    frac_part = frac_part + "0" * pad_frac
    groups = [int(int_part[i:i + 4]) for i in range(0, len(int_part), 4)] + \
             [int(frac_part[i:i + 4]) for i in range(0, len(frac_part), 4)]
    weight = len(int_part) // 4 - 1
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight = 0
        sign = 0  # no negative zero in PostgreSQL's numeric
    head = struct.pack("!hhHh", len(groups), weight, 0x4000 if sign else 0, dscale)
    return head + b"".join(struct.pack("!h", g) for g in groups)


def numeric_recv(b: bytes) -> Decimal:
    if len(b) < 8:
        raise errors.ProtocolViolation("insufficient data left in message")
    ndigits, weight, sign, dscale = struct.unpack_from("!hhHh", b)
    if sign == 0xC000:
        return Decimal("NaN")
    if sign in (0xD000, 0xF000):
        return Decimal("Infinity") if sign == 0xD000 else Decimal("-Infinity")
    if ndigits < 0 or dscale < 0 or sign not in (0, 0x4000):
        raise _bad(T.NUMERIC)
    _check_size(T.NUMERIC, b, 8 + 2 * ndigits)
    digits = struct.unpack_from(f"!{ndigits}h", b, 8)
    if any(not 0 <= d < 10000 for d in digits):
        raise _bad(T.NUMERIC)
    # Build the decimal text: exact at any size, unlike Decimal arithmetic
    # under a context precision. Digits beyond dscale are cut, as PostgreSQL does.
    text = "".join(f"{d:04d}" for d in digits)
    int_groups = weight + 1
    if int_groups >= ndigits:
        int_part, frac = text + "0000" * (int_groups - ndigits), ""
    elif int_groups <= 0:
        int_part, frac = "", "0000" * -int_groups + text
    else:
        int_part, frac = text[:4 * int_groups], text[4 * int_groups:]
    frac = frac[:dscale].ljust(dscale, "0")
    text = (int_part.lstrip("0") or "0") + ("." + frac if frac else "")
    negative = sign == 0x4000 and text.strip("0.") != ""
    return Decimal("-" + text if negative else text)


# --- encoders (value → bytes) -------------------------------------------------------------------------

def _ts_micros(v: dt.datetime, epoch: dt.datetime) -> int:
    d = v - epoch
    return d.days * USECS_PER_DAY + d.seconds * USECS_PER_SEC + d.microseconds


_ENCODERS: dict[int, Callable[[Any], bytes]] = {
    T.BOOL.oid: lambda v: b"\x01" if v else b"\x00",
    T.INT2.oid: _I16.pack, T.INT4.oid: _I32.pack, T.INT8.oid: _I64.pack,
    T.OID.oid: _U32.pack, T.REGCLASS.oid: _U32.pack, T.REGTYPE.oid: _U32.pack,
    T.FLOAT4.oid: _F32.pack, T.FLOAT8.oid: _F64.pack,
    T.TEXT.oid: str.encode, T.VARCHAR.oid: str.encode, T.BPCHAR.oid: str.encode,
    T.NAME.oid: str.encode, T.UNKNOWN.oid: str.encode, T.CHAR.oid: str.encode,
    T.BYTEA.oid: bytes,
    T.NUMERIC.oid: numeric_send,
    T.DATE.oid: lambda v: _I32.pack(v.toordinal() - _EPOCH_ORD),
    T.TIME.oid: lambda v: _I64.pack(((v.hour * 60 + v.minute) * 60 + v.second) * USECS_PER_SEC
                                    + v.microsecond),
    T.TIMESTAMP.oid: lambda v: _I64.pack(_ts_micros(v, _EPOCH_TS)),
    T.TIMESTAMPTZ.oid: lambda v: _I64.pack(_ts_micros(v, _EPOCH_TSTZ)),
    T.INTERVAL.oid: lambda v: _IV.pack(v.micros, v.days, v.months),
    T.UUID.oid: lambda v: v.bytes,
    T.PG_LSN.oid: _U64.pack,
    T.JSON.oid: str.encode,
    T.JSONB.oid: lambda v: b"\x01" + textio.format_jsonb(v).encode(),
}


def binary_encoder(t: T.SqlType) -> Callable[[Any], bytes]:
    enc = _ENCODERS.get(t.oid)
    if enc is not None:
        return enc
    if t.elem is not None:
        return _array_encoder(t.elem)
    if t.oid == T.VECTOR.oid:
        return lambda v: struct.pack(f"!hh{len(v)}f", len(v), 0, *v)
    raise errors.FeatureNotSupported(f"binary output of type {t.sql_name()} is not supported")


def _array_encoder(elem: T.SqlType) -> Callable[[Any], bytes]:
    inner = binary_encoder(elem)

    def enc(v: list) -> bytes:
        dims = []
        cur: Any = v
        while isinstance(cur, list):
            dims.append(len(cur))
            cur = cur[0] if cur else None
        flat = _flatten(v)
        has_null = any(x is None for x in flat)
        parts = [struct.pack("!iiI", len(dims) if v else 0, 1 if has_null else 0, elem.oid)]
        if v:
            for d in dims:
                parts.append(struct.pack("!ii", d, 1))
        for x in flat:
            if x is None:
                parts.append(b"\xff\xff\xff\xff")
            else:
                data = inner(x)
                parts.append(_I32.pack(len(data)) + data)
        return b"".join(parts)
    return enc


def _flatten(v: list) -> list:
    out: list = []
    for x in v:
        if isinstance(x, list):
            out += _flatten(x)
        else:
            out.append(x)
    return out


# --- decoders (bytes → value) ---------------------------------------------------------------------------

def _fixed(t: T.SqlType, s: struct.Struct) -> Callable[[bytes], Any]:
    def dec(b: bytes) -> Any:
        if len(b) != s.size:
            _check_size(t, b, s.size)
        return s.unpack(b)[0]
    # prepared.params_decoder writes the right-size case in, without a call
    dec.inline = ("fixed", s.size, s.unpack)  # type: ignore[attr-defined]
    return dec


def _text(t: T.SqlType) -> Callable[[bytes], Any]:
    def dec(b: bytes) -> Any:
        try:
            return textio.parse_text(t, b.decode("utf-8"))
        except UnicodeDecodeError:
            raise errors.CharacterNotInRepertoire('invalid byte sequence for encoding "UTF8"'
                                                  ) from None
    return dec


def _bool(b: bytes) -> bool:
    if len(b) != 1:
        _check_size(T.BOOL, b, 1)
    return b != b"\x00"


def _date(b: bytes) -> dt.date:
    if len(b) != 4:
        _check_size(T.DATE, b, 4)
    try:
        return dt.date.fromordinal(_I32.unpack(b)[0] + _EPOCH_ORD)
    except (ValueError, OverflowError):
        raise errors.DatetimeFieldOverflow("date out of range") from None


def _ts(epoch: dt.datetime) -> Callable[[bytes], dt.datetime]:
    def dec(b: bytes) -> dt.datetime:
        if len(b) != 8:
            _check_size(T.TIMESTAMP, b, 8)
        try:
            return epoch + dt.timedelta(microseconds=_I64.unpack(b)[0])
        except OverflowError:
            raise errors.DatetimeFieldOverflow("timestamp out of range") from None
    return dec


def _time(b: bytes) -> dt.time:
    if len(b) != 8:
        _check_size(T.TIME, b, 8)
    us = _I64.unpack(b)[0]
    if not 0 <= us <= USECS_PER_DAY:
        raise errors.DatetimeFieldOverflow("time out of range")
    s, micro = divmod(us % USECS_PER_DAY, USECS_PER_SEC)
    return dt.time(s // 3600, s // 60 % 60, s % 60, micro)


def _interval(b: bytes) -> Interval:
    if len(b) != 16:
        _check_size(T.INTERVAL, b, 16)
    micros, days, months = _IV.unpack(b)
    return Interval(months, days, micros)


def _uuid(b: bytes) -> uuid.UUID:
    if len(b) != 16:
        _check_size(T.UUID, b, 16)
    return uuid.UUID(bytes=b)


def _lsn(b: bytes) -> int:
    if len(b) != 8:
        _check_size(T.PG_LSN, b, 8)
    return _U64.unpack(b)[0]


def _jsonb(b: bytes) -> Any:
    if not b or b[0] != 1:
        raise errors.InvalidBinaryRepresentation("unsupported jsonb version number")
    return textio.parse_jsonb(b[1:].decode("utf-8"))


_DECODERS: dict[int, Callable[[bytes], Any]] = {
    T.BOOL.oid: _bool,
    T.INT2.oid: _fixed(T.INT2, _I16), T.INT4.oid: _fixed(T.INT4, _I32),
    T.INT8.oid: _fixed(T.INT8, _I64), T.OID.oid: _fixed(T.OID, _U32),
    T.FLOAT4.oid: _fixed(T.FLOAT4, _F32), T.FLOAT8.oid: _fixed(T.FLOAT8, _F64),
    T.BYTEA.oid: bytes,
    T.NUMERIC.oid: numeric_recv,
    T.DATE.oid: _date, T.TIME.oid: _time,
    T.TIMESTAMP.oid: _ts(_EPOCH_TS), T.TIMESTAMPTZ.oid: _ts(_EPOCH_TSTZ),
    T.INTERVAL.oid: _interval, T.UUID.oid: _uuid, T.PG_LSN.oid: _lsn, T.JSONB.oid: _jsonb,
}


def binary_decoder(t: T.SqlType) -> Callable[[bytes], Any]:
    """decode_binary for one type, looked up once (prepared statements)."""
    dec = _DECODERS.get(t.oid)
    if dec is not None and t.typmod == -1:
        return dec
    return lambda b: decode_binary(t, b)


def decode_binary(t: T.SqlType, b: bytes) -> Any:
    dec = _DECODERS.get(t.oid)
    if dec is not None:
        v = dec(b)
    elif t.elem is not None:
        v = _decode_array(t, b)
    else:
        v = _text(t)(b)
    if t.typmod != -1 and t.oid in (T.VARCHAR.oid, T.BPCHAR.oid, T.NUMERIC.oid):
        from aiondb.sql.casts import cast_function
        v = cast_function(t.base, t, False)(v, None)
    return v


_MAXDIM = 6  # PostgreSQL's limit on array dimensions


def _decode_array(t: T.SqlType, b: bytes) -> list:
    assert t.elem is not None
    try:
        ndim, flags, elem_oid = struct.unpack_from("!iiI", b)
        if not 0 <= ndim <= _MAXDIM or flags not in (0, 1):
            raise _bad(t)
        pos = 12
        dims = []
        for _ in range(ndim):
            n, _lb = struct.unpack_from("!ii", b, pos)
            if n < 0:
                raise _bad(t)
            dims.append(n)
            pos += 8
        total = 1
        for d in dims:
            total *= d
        if ndim == 0:
            total = 0
        if total * 4 > len(b) - pos:   # every element needs at least its length word
            raise _bad(t)
        elem = T.BY_OID.get(elem_oid, t.elem)
        flat = []
        for _ in range(total):
            (ln,) = _I32.unpack_from(b, pos)
            pos += 4
            if ln == -1:
                flat.append(None)
            elif ln < -1 or pos + ln > len(b):
                raise _bad(t)
            else:
                flat.append(decode_binary(elem, b[pos:pos + ln]))
                pos += ln
        if pos != len(b):
            raise _bad(t)
    except struct.error:
        raise _bad(t) from None

    def nest(items: list, ds: list[int]) -> list:
        if len(ds) <= 1:
            return items
        size = len(items) // ds[0]
        return [nest(items[i * size:(i + 1) * size], ds[1:]) for i in range(ds[0])]
    return nest(flat, dims) if total else []
