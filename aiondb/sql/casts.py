"""Casts between types, with PostgreSQL's coercion contexts and errors.

`coercion(src, dst)` says in which context a cast is allowed ('i' implicit,
'a' assignment, 'e' explicit, None never); `cast_function(src, dst)` returns
fn(value, ctx) → value (value never None). ctx supplies the session time
zone and catalog lookups for reg* types.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql import textio
from aiondb.values import JSON_NULL, USECS_PER_DAY, USECS_PER_SEC, Interval

CastFn = Callable[[Any, Any], Any]
_RANK = T.NUMERIC_RANK
_NUMERIC_OIDS = frozenset(_RANK)
_STRINGS = frozenset((T.TEXT.oid, T.VARCHAR.oid, T.BPCHAR.oid, T.NAME.oid, T.CHAR.oid))
_REG = frozenset((T.REGCLASS.oid, T.REGTYPE.oid, T.REGPROC.oid, T.REGNAMESPACE.oid,
                  T.REGROLE.oid, T.OID.oid))


def int_range_error(t: T.SqlType) -> errors.DatabaseError:
    return errors.NumericValueOutOfRange(f"{T.INT_RANGES[t.oid][2]} out of range")


def check_int(t: T.SqlType, v: int) -> int:
    lo, hi, _ = T.INT_RANGES[t.oid]
    if not lo <= v <= hi:
        raise int_range_error(t)
    return v


def apply_numeric_typmod(v: Decimal, typmod: int) -> Decimal:
    ps = T.numeric_precision_scale(typmod)
    if ps is None or not v.is_finite():
        if ps is not None and v.is_infinite():
            raise errors.NumericValueOutOfRange(
                "numeric field overflow",
                detail=f"A field with precision {ps[0]}, scale {ps[1]} cannot hold an "
                       "infinite value.")
        return v
    prec, scale = ps
    with localcontext() as c:
        c.prec = 1000
        q = v.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
    digits_before = len(q.as_tuple().digits) + q.as_tuple().exponent if q else 0
    if q != 0 and digits_before > prec - scale:
        raise errors.NumericValueOutOfRange(
            "numeric field overflow",
            detail=f"A field with precision {prec}, scale {scale} must round to an absolute "
                   f"value less than {'10^' + str(prec - scale) if prec - scale else '1'}.")
    return q


def apply_char_typmod(t: T.SqlType, s: str, explicit: bool) -> str:
    """varchar(n)/char(n): explicit casts truncate, others error unless the
    excess is spaces; char(n) pads with spaces."""
    limit = T.char_length_limit(t)
    if t.oid == T.CHAR.oid:
        return s[:1]
    if limit is None:
        if t.oid == T.BPCHAR.oid and t.typmod == -1:
            return s
        return s
    if len(s) > limit:
        if explicit or not s[limit:].strip(" "):
            s = s[:limit]
        else:
            label = "character varying" if t.oid == T.VARCHAR.oid else "character"
            raise errors.StringDataRightTruncation(f"value too long for type {label}({limit})")
    if t.oid == T.BPCHAR.oid and len(s) < limit:
        s = s + " " * (limit - len(s))
    return s


def coercion(src: T.SqlType, dst: T.SqlType) -> str | None:
    """Context in which src may be cast to dst: 'i', 'a', 'e' or None."""
    s, d = src.oid, dst.oid
    if s == d:
        return "i"
    if s == T.UNKNOWN.oid:
        return "i"
    if d in (T.ANYELEMENT.oid, T.ANYARRAY.oid):
        return "i"
    if d == T.RECORD.oid:
        return "i" if s == T.RECORD.oid else None
    if s in _NUMERIC_OIDS and d in _NUMERIC_OIDS:
        if s == T.OID.oid or d == T.OID.oid:
            return "i" if {s, d} <= {T.INT4.oid, T.INT8.oid, T.OID.oid, T.INT2.oid} else "a"
        return "i" if _RANK[s] < _RANK[d] else "a"
    if s in _REG or d in _REG:
        if s in _REG and d in _REG:
            return "i"
        if s in (T.INT4.oid, T.INT8.oid, T.INT2.oid) and d in _REG:
            return "i"
        if s in _REG and d in (T.INT4.oid, T.INT8.oid):
            return "a"
        if d in _STRINGS:
            return "a"
        if s in _STRINGS:
            return "e"
        return None
    if s in _STRINGS and d in _STRINGS:
        return "i" if d != T.CHAR.oid else "a"
    if d in _STRINGS:
        return "a"   # any type → string: assignment (I/O conversion)
    if s in _STRINGS:
        return "e"   # string → other type: explicit (I/O conversion)
    pair = (s, d)
    if pair in _IMPLICIT_PAIRS:
        return "i"
    if pair in _ASSIGNMENT_PAIRS:
        return "a"
    if pair in _EXPLICIT_PAIRS:
        return "e"
    if src.elem is not None and dst.elem is not None:
        return coercion(src.elem, dst.elem)
    return None


_IMPLICIT_PAIRS = {
    (T.DATE.oid, T.TIMESTAMP.oid), (T.DATE.oid, T.TIMESTAMPTZ.oid),
    (T.TIMESTAMP.oid, T.TIMESTAMPTZ.oid), (T.TIME.oid, T.INTERVAL.oid),
    (T.FLOAT4.oid, T.VECTOR.oid),
    # json operators are served by the jsonb implementations
    (T.JSON.oid, T.JSONB.oid),
}
_ASSIGNMENT_PAIRS = {
    (T.TIMESTAMPTZ.oid, T.TIMESTAMP.oid), (T.TIMESTAMP.oid, T.DATE.oid),
    (T.TIMESTAMPTZ.oid, T.DATE.oid), (T.INTERVAL.oid, T.TIME.oid),
    (T.TIMESTAMP.oid, T.TIME.oid), (T.TIMESTAMPTZ.oid, T.TIME.oid),
    (T.JSONB.oid, T.JSON.oid),
    (T.VECTOR.oid, T.FLOAT4.array_of().oid), (T.FLOAT4.array_of().oid, T.VECTOR.oid),
    (T.FLOAT8.array_of().oid, T.VECTOR.oid), (T.INT4.array_of().oid, T.VECTOR.oid),
    (T.NUMERIC.array_of().oid, T.VECTOR.oid),
}
_EXPLICIT_PAIRS = {
    # PostgreSQL 15 has int4 <-> boolean only (no int2/int8 <-> boolean, no uuid -> bytea)
    (T.INT4.oid, T.BOOL.oid), (T.BOOL.oid, T.INT4.oid),
    (T.JSONB.oid, T.INT2.oid), (T.JSONB.oid, T.INT4.oid), (T.JSONB.oid, T.INT8.oid),
    (T.JSONB.oid, T.NUMERIC.oid), (T.JSONB.oid, T.FLOAT4.oid), (T.JSONB.oid, T.FLOAT8.oid),
    (T.JSONB.oid, T.BOOL.oid), (T.INT4.oid, T.CHAR.oid),
}


# --- cast implementations ---------------------------------------------------------------------

def _round_half_away(d: Decimal) -> Decimal:
    return d.to_integral_value(rounding=ROUND_HALF_UP)


def _to_int(dst: T.SqlType) -> Callable[[Any, Any], int]:
    lo, hi, _label = T.INT_RANGES[dst.oid]

    def from_int(v: int, ctx: Any) -> int:
        if not lo <= v <= hi:
            raise int_range_error(dst)
        return v

    def from_float(v: float, ctx: Any) -> int:
        if math.isnan(v) or math.isinf(v):
            raise int_range_error(dst)
        r = int(round(v))  # rint: half to even
        if not lo <= r <= hi:
            raise int_range_error(dst)
        return r

    def from_numeric(v: Decimal, ctx: Any) -> int:
        if not v.is_finite():
            raise errors.FeatureNotSupported(f"cannot convert {v} to {_label}")
        r = int(_round_half_away(v))
        if not lo <= r <= hi:
            raise int_range_error(dst)
        return r

    def from_any(v: Any, ctx: Any) -> int:
        if isinstance(v, bool):
            return int(v)
        if isinstance(v, int):
            return from_int(v, ctx)
        if isinstance(v, float):
            return from_float(v, ctx)
        if isinstance(v, Decimal):
            return from_numeric(v, ctx)
        return from_int(int(v), ctx)
    return from_any


def _to_numeric(dst: T.SqlType) -> CastFn:
    typmod = dst.typmod

    def conv(v: Any, ctx: Any) -> Decimal:
        if isinstance(v, Decimal):
            d = v
        elif isinstance(v, bool):
            raise errors.CannotCoerce("cannot cast type boolean to numeric")
        elif isinstance(v, float):
            if math.isnan(v):
                d = Decimal("NaN")
            elif math.isinf(v):
                d = Decimal("Infinity") if v > 0 else Decimal("-Infinity")
            else:
                # PostgreSQL converts through the shortest text form (15 digits for float8)
                d = Decimal(textio.format_float8(v)) if "e" not in textio.format_float8(v) \
                    else Decimal(repr(v))
        else:
            d = Decimal(v)
        return apply_numeric_typmod(d, typmod) if typmod != -1 else d
    return conv


def _to_float(dst: T.SqlType) -> CastFn:
    single = dst.oid == T.FLOAT4.oid

    def conv(v: Any, ctx: Any) -> float:
        try:
            f = float(v)
        except OverflowError:
            raise errors.NumericValueOutOfRange(
                f"value out of range: {'overflow' if v > 0 else 'underflow'}") from None
        if single and not math.isinf(f) and not math.isnan(f):
            import struct
            try:
                f = struct.unpack("f", struct.pack("f", f))[0]
            except OverflowError:
                raise errors.NumericValueOutOfRange("value out of range: overflow") from None
        return f
    return conv


def _to_text(src: T.SqlType, dst: T.SqlType, explicit: bool) -> CastFn:
    if src.oid == T.BPCHAR.oid and dst.oid != T.BPCHAR.oid:
        # char(n) → text drops trailing spaces
        def from_bpchar(v: str, ctx: Any) -> str:
            return apply_char_typmod(dst, v.rstrip(" "), explicit)
        return from_bpchar
    if src.oid in _STRINGS:
        if T.char_length_limit(dst) is None and dst.oid != T.CHAR.oid:
            return lambda v, ctx: v
        return lambda v, ctx: apply_char_typmod(dst, v, explicit)
    if src.oid == T.BOOL.oid:
        return lambda v, ctx: apply_char_typmod(dst, "true" if v else "false", explicit)
    if src.oid == T.TIMESTAMPTZ.oid:
        return lambda v, ctx: apply_char_typmod(dst, textio.format_timestamptz(v, ctx.tz),
                                                explicit)
    return lambda v, ctx: apply_char_typmod(dst, textio.format_text(src, v, ctx.tz), explicit)


def _from_text(dst: T.SqlType) -> CastFn:
    if dst.oid in _REG:
        return lambda v, ctx: ctx.resolve_reg(dst, v)
    return lambda v, ctx: textio.parse_text(dst, v, ctx.tz, ctx.statement_time)


def _jsonb_to_scalar(dst: T.SqlType) -> CastFn:
    label = textio.type_label(dst)

    def conv(v: Any, ctx: Any) -> Any:
        if dst.oid == T.BOOL.oid:
            if isinstance(v, bool):
                return v
            raise errors.InvalidParameterValue(f"cannot cast jsonb {_jsonb_kind(v)} to type "
                                               f"{label}")
        if isinstance(v, bool) or not isinstance(v, (int, float, Decimal)):
            raise errors.InvalidParameterValue(f"cannot cast jsonb {_jsonb_kind(v)} to type "
                                               f"{label}")
        return cast_function(T.NUMERIC, dst, True)(Decimal(v), ctx)
    return conv


def _jsonb_kind(v: Any) -> str:
    if v is JSON_NULL:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "object"
    if isinstance(v, list):
        return "array"
    return "numeric"


def _ts_to_tstz(v: dt.datetime, ctx: Any) -> dt.datetime:
    return textio.localize(v, ctx.tz).astimezone(textio.UTC)


def _tstz_to_ts(v: dt.datetime, ctx: Any) -> dt.datetime:
    return v.astimezone(ctx.tz).replace(tzinfo=None)


def _date_to_ts(v: dt.date, ctx: Any) -> dt.datetime:
    return dt.datetime(v.year, v.month, v.day)


def _interval_to_time(v: Interval, ctx: Any) -> dt.time:
    micros = v.micros % USECS_PER_DAY
    s, us = divmod(micros, USECS_PER_SEC)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return dt.time(h, m, sec, us)


def _time_to_interval(v: dt.time, ctx: Any) -> Interval:
    return Interval(0, 0, ((v.hour * 60 + v.minute) * 60 + v.second) * USECS_PER_SEC
                    + v.microsecond)


def _array_cast(src: T.SqlType, dst: T.SqlType, explicit: bool) -> CastFn:
    assert src.elem is not None and dst.elem is not None
    inner = cast_function(src.elem, dst.elem, explicit)

    def conv(v: list, ctx: Any) -> list:
        return [None if x is None else (conv(x, ctx) if isinstance(x, list) else inner(x, ctx))
                for x in v]
    return conv


def _to_vector(dst: T.SqlType) -> CastFn:
    dims = dst.typmod

    def conv(v: Any, ctx: Any) -> tuple:
        vals = tuple(float(x) for x in v)
        if any(x is None for x in v):
            raise errors.NullValueNotAllowed("array must not contain nulls")
        if dims > 0 and len(vals) != dims:
            raise errors.DataException(f"expected {dims} dimensions, not {len(vals)}")
        return vals
    return conv


def cast_function(src: T.SqlType, dst: T.SqlType, explicit: bool = True) -> CastFn:
    """fn(value, ctx) converting a non-NULL value of src to dst."""
    s, d = src.oid, dst.oid
    if s == d and src.typmod == dst.typmod and src.elem == dst.elem:
        return _identity
    if d in (T.TIME.oid, T.TIMESTAMP.oid, T.TIMESTAMPTZ.oid) and dst.typmod >= 0 and \
            s not in _STRINGS and s != T.UNKNOWN.oid:
        # to time(p) / timestamp(p): convert, then round to p fractional digits
        inner = _identity if s == d else cast_function(src, dst.base, explicit)
        digits = dst.typmod
        return lambda v, ctx: textio.round_fraction(inner(v, ctx), digits)
    if d in T.INTEGER_TYPES or d == T.OID.oid and s not in _STRINGS:
        if s == T.JSONB.oid:
            return _jsonb_to_scalar(dst)
        if s in _REG:
            return lambda v, ctx: int(v)
        if s in _STRINGS or s == T.UNKNOWN.oid:
            return lambda v, ctx: textio.parse_int(dst, v)
        return _to_int(dst)
    if d == T.NUMERIC.oid:
        if s == T.JSONB.oid:
            return _jsonb_to_scalar(dst)
        if s in _STRINGS or s == T.UNKNOWN.oid:
            return lambda v, ctx: textio.parse_numeric(dst, v)
        if s == T.BOOL.oid:
            raise errors.CannotCoerce("cannot cast type boolean to numeric")
        return _to_numeric(dst)
    if d in (T.FLOAT4.oid, T.FLOAT8.oid):
        if s == T.JSONB.oid:
            return _jsonb_to_scalar(dst)
        if s in _STRINGS or s == T.UNKNOWN.oid:
            return lambda v, ctx: textio.parse_float(dst, v)
        return _to_float(dst)
    if d in _STRINGS:
        return _to_text(src, dst, explicit)
    if s in _STRINGS or s == T.UNKNOWN.oid:
        return _from_text(dst)
    if d == T.BOOL.oid:
        if s == T.JSONB.oid:
            return _jsonb_to_scalar(dst)
        return lambda v, ctx: v != 0
    if s == T.BOOL.oid and d in T.INTEGER_TYPES:
        return lambda v, ctx: int(v)
    if d in _REG:
        return lambda v, ctx: ctx.resolve_reg(dst, v)
    pair = (s, d)
    simple = _SIMPLE_CASTS.get(pair)
    if simple is not None:
        return simple
    if src.elem is not None and dst.elem is not None:
        return _array_cast(src, dst, explicit)
    if d == T.VECTOR.oid and (src.elem is not None or s == T.VECTOR.oid):
        return _to_vector(dst)
    if s == T.VECTOR.oid and dst.elem is not None:
        return lambda v, ctx: [float(x) for x in v]
    raise errors.CannotCoerce(
        f"cannot cast type {src.sql_name()} to {dst.sql_name()}")


def _identity(v: Any, ctx: Any) -> Any:
    return v


def _jsonb_to_json(v: Any, ctx: Any) -> str:
    return textio.format_jsonb(v)


def _time_from_ts(v: dt.datetime, ctx: Any) -> dt.time:
    return v.time()


_SIMPLE_CASTS: dict[tuple[int, int], CastFn] = {
    (T.DATE.oid, T.TIMESTAMP.oid): _date_to_ts,
    (T.DATE.oid, T.TIMESTAMPTZ.oid): lambda v, ctx: _ts_to_tstz(_date_to_ts(v, ctx), ctx),
    (T.TIMESTAMP.oid, T.TIMESTAMPTZ.oid): _ts_to_tstz,
    (T.TIMESTAMPTZ.oid, T.TIMESTAMP.oid): _tstz_to_ts,
    (T.TIMESTAMP.oid, T.DATE.oid): lambda v, ctx: v.date(),
    (T.TIMESTAMPTZ.oid, T.DATE.oid): lambda v, ctx: _tstz_to_ts(v, ctx).date(),
    (T.TIMESTAMP.oid, T.TIME.oid): _time_from_ts,
    (T.TIMESTAMPTZ.oid, T.TIME.oid): lambda v, ctx: _tstz_to_ts(v, ctx).time(),
    (T.INTERVAL.oid, T.TIME.oid): _interval_to_time,
    (T.TIME.oid, T.INTERVAL.oid): _time_to_interval,
    (T.JSON.oid, T.JSONB.oid): lambda v, ctx: textio.parse_jsonb(v),
    (T.JSONB.oid, T.JSON.oid): _jsonb_to_json,
    (T.UUID.oid, T.BYTEA.oid): lambda v, ctx: v.bytes,
}


def numeric_round(v: Decimal, scale: int) -> Decimal:
    with localcontext() as c:
        c.prec = 1000
        try:
            return v.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
        except InvalidOperation:
            raise errors.NumericValueOutOfRange("numeric field overflow") from None

