"""Text input and output of every type, in PostgreSQL's formats
(DateStyle ISO, IntervalStyle postgres, extra_float_digits 1, bytea hex).

`parse_text(type, text, tz)` turns client text into a value and raises the
SQLSTATE PostgreSQL raises (22P02, 22003, 22007, 22008 ...);
`format_text(type, value, tz)` is the inverse. `output_encoder` returns the
per-column function the wire layer uses for DataRow values. The scalar
parsers live in textio_parse.py, the date/time ones in textio_time.py;
this module re-exports both.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import struct
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql.textio_parse import (  # noqa: F401 - re-exported: textio is the module callers use
    parse_bool,
    parse_bytea,
    parse_float,
    parse_int,
    parse_json,
    parse_jsonb,
    parse_lsn,
    parse_numeric,
    parse_uuid,
    parse_vector,
)
from aiondb.sql.textio_time import (  # noqa: F401 - re-exported: textio is the module callers use
    UTC,
    _invalid,
    format_utc_offset,
    get_timezone,
    iso_offset_zone,
    localize,
    numeric_zone,
    parse_date,
    parse_interval,
    parse_time,
    parse_timestamp,
    type_label,
)
from aiondb.values import JSON_NULL, Interval

# --- output ------------------------------------------------------------------------------------

def _fmt_frac(micro: int) -> str:
    return ("." + f"{micro:06d}").rstrip("0") if micro else ""


def format_date(d: dt.date) -> str:
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"


def format_time(t: dt.time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}{_fmt_frac(t.microsecond)}"


def format_timestamp(v: dt.datetime) -> str:
    return (f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:"
            f"{v.second:02d}{_fmt_frac(v.microsecond)}")


def format_timestamptz(v: dt.datetime, tz: dt.tzinfo) -> str:
    local = v.astimezone(tz)
    return format_timestamp(local) + format_utc_offset(local.utcoffset())


def _shortest_float(v: float, single: bool) -> str:
    if v != v:
        return "NaN"
    if v == math.inf:
        return "Infinity"
    if v == -math.inf:
        return "-Infinity"
    if v == 0:
        return "-0" if math.copysign(1.0, v) < 0 else "0"
    if single:
        for prec in range(1, 10):
            s = f"{v:.{prec - 1}e}"
            if struct.unpack("f", struct.pack("f", float(s)))[0] == v:
                break
        digits_exp = s
    else:
        # repr is the shortest round-trip form; rewrite it as d.ddde±x
        digits_exp = f"{v:.{_sig_digits(repr(v)) - 1}e}"
    mant, _, exp_s = digits_exp.partition("e")
    exp10 = int(exp_s)
    neg = mant.startswith("-")
    digits = mant.lstrip("-").replace(".", "").rstrip("0") or "0"
    limit = 6 if single else 15
    if exp10 < -4 or exp10 >= limit:
        body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        out = f"{body}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    elif exp10 >= 0:
        if len(digits) <= exp10 + 1:
            out = digits + "0" * (exp10 + 1 - len(digits))
        else:
            out = digits[:exp10 + 1] + "." + digits[exp10 + 1:]
    else:
        out = "0." + "0" * (-exp10 - 1) + digits
    return "-" + out if neg else out


def _sig_digits(r: str) -> int:
    mant = r.lstrip("-").split("e")[0].replace(".", "").lstrip("0").rstrip("0")
    return max(len(mant), 1)


def format_float8(v: float) -> str:
    return _shortest_float(v, False)


def format_float4(v: float) -> str:
    return _shortest_float(v, True)


def format_numeric(v: Decimal) -> str:
    if v.is_nan():
        return "NaN"
    if v.is_infinite():
        return "Infinity" if v > 0 else "-Infinity"
    s = format(v, "f")
    if s.startswith("-") and v == 0:
        s = s[1:]
    return s


def format_bytea(v: bytes) -> str:
    return "\\x" + v.hex()


def format_bool(v: bool) -> str:
    return "t" if v else "f"


def _jsonb_key_order(k: str) -> tuple[int, bytes]:
    b = k.encode("utf-8")
    return (len(b), b)


def _json_string(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def format_jsonb(v: Any) -> str:
    if v is JSON_NULL or v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return _json_string(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, Decimal):
        return format_numeric(v)
    if isinstance(v, float):
        return format_float8(v)
    if isinstance(v, dict):
        if not v:
            return "{}"
        items = sorted(v.items(), key=lambda kv: _jsonb_key_order(kv[0]))
        return "{" + ", ".join(_json_string(k) + ": " + format_jsonb(x) for k, x in items) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(format_jsonb(x) for x in v) + "]"
    raise errors.InternalError(f"cannot format {type(v).__name__} as jsonb")


_ARRAY_NEEDS_QUOTE = re.compile(r'[{},"\\\s]')


def format_array(v: list, elem: T.SqlType, tz: dt.tzinfo) -> str:
    parts = []
    for x in v:
        if x is None:
            parts.append("NULL")
        elif isinstance(x, list) and elem.category != "U":
            parts.append(format_array(x, elem, tz))
        else:
            s = format_text(elem, x, tz)
            if s == "" or _ARRAY_NEEDS_QUOTE.search(s) or s.upper() == "NULL":
                s = '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
            parts.append(s)
    return "{" + ",".join(parts) + "}"


def format_vector(v: tuple) -> str:
    return "[" + ",".join(format_float4(x) for x in v) + "]"


def format_text(t: T.SqlType, v: Any, tz: dt.tzinfo = UTC) -> str:
    """Text output of a non-NULL value."""
    f = _FORMATTERS.get(t.oid)
    if f is not None:
        return f(v)
    if t.elem is not None:
        return format_array(v, t.elem, tz)
    if t.oid == T.TIMESTAMPTZ.oid:
        return format_timestamptz(v, tz)
    if t.oid in (T.REGCLASS.oid, T.REGTYPE.oid, T.REGPROC.oid, T.REGNAMESPACE.oid,
                 T.REGROLE.oid):
        return str(getattr(v, "label", v))
    return str(v)


_FORMATTERS: dict[int, Callable[[Any], str]] = {
    T.BOOL.oid: format_bool,
    T.INT2.oid: str, T.INT4.oid: str, T.INT8.oid: str, T.OID.oid: str, T.XID.oid: str,
    T.TEXT.oid: str, T.VARCHAR.oid: str, T.BPCHAR.oid: str, T.NAME.oid: str, T.CHAR.oid: str,
    T.UNKNOWN.oid: str, T.PG_NODE_TREE.oid: str, T.ACLITEM.oid: str,
    T.NUMERIC.oid: format_numeric,
    T.FLOAT4.oid: format_float4, T.FLOAT8.oid: format_float8,
    T.BYTEA.oid: format_bytea,
    T.DATE.oid: format_date, T.TIME.oid: format_time, T.TIMESTAMP.oid: format_timestamp,
    T.INTERVAL.oid: lambda v: v.to_text(),
    T.UUID.oid: str,
    T.PG_LSN.oid: lambda v: f"{v >> 32:X}/{v & 0xFFFFFFFF:X}",
    T.JSON.oid: str,
    T.JSONB.oid: format_jsonb,
    T.VECTOR.oid: format_vector,
    T.INT2VECTOR.oid: lambda v: " ".join(str(x) for x in v),
    T.OIDVECTOR.oid: lambda v: " ".join(str(x) for x in v),
    T.RECORD.oid: lambda v: format_record(v),
    T.VOID.oid: lambda v: "",
}


def format_record(v: tuple) -> str:
    parts = []
    for x in v:
        if x is None:
            parts.append("")
            continue
        s = x if isinstance(x, str) else format_text(guess_type(x), x)
        if s == "" or re.search(r'[(),"\\\s]', s):
            s = '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
        parts.append(s)
    return "(" + ",".join(parts) + ")"


def guess_type(v: Any) -> T.SqlType:
    """Type of a Python value when no SQL type is at hand (records, literals)."""
    if isinstance(v, bool):
        return T.BOOL
    if isinstance(v, int):
        return T.INT8 if not -2**31 <= v < 2**31 else T.INT4
    if isinstance(v, float):
        return T.FLOAT8
    if isinstance(v, Decimal):
        return T.NUMERIC
    if isinstance(v, str):
        return T.TEXT
    if isinstance(v, bytes):
        return T.BYTEA
    if isinstance(v, dt.datetime):
        return T.TIMESTAMPTZ if v.tzinfo is not None else T.TIMESTAMP
    if isinstance(v, dt.date):
        return T.DATE
    if isinstance(v, dt.time):
        return T.TIME
    if isinstance(v, Interval):
        return T.INTERVAL
    if isinstance(v, uuid.UUID):
        return T.UUID
    if isinstance(v, (dict, list)) or v is JSON_NULL:
        return T.JSONB
    if isinstance(v, tuple):
        return T.RECORD
    return T.TEXT


def output_encoder(t: T.SqlType, tz: dt.tzinfo) -> Callable[[Any], bytes]:
    """Per-column text encoder for DataRow (value is never None here)."""
    oid = t.oid
    if oid in (T.INT2.oid, T.INT4.oid, T.INT8.oid, T.OID.oid):
        return lambda v: str(v).encode()
    if oid in (T.TEXT.oid, T.VARCHAR.oid, T.BPCHAR.oid, T.NAME.oid, T.UNKNOWN.oid):
        return str.encode
    if oid == T.BOOL.oid:
        return lambda v: b"t" if v else b"f"
    if oid == T.TIMESTAMPTZ.oid:
        return lambda v: format_timestamptz(v, tz).encode()
    f = _FORMATTERS.get(oid)
    if f is not None:
        return lambda v: f(v).encode()
    return lambda v: format_text(t, v, tz).encode()


# --- input -------------------------------------------------------------------------------------

def parse_array(text: str, elem: T.SqlType, tz: dt.tzinfo) -> list:
    s = text.strip()
    if s.startswith("[") and "=" in s[:s.find("{")] if "{" in s else False:
        s = s[s.find("=") + 1:].strip()  # explicit bounds '[1:2]={1,2}': bounds dropped
    if not s.startswith("{"):
        raise errors.InvalidTextRepresentation(
            f'malformed array literal: "{text}"',
            detail='Array value must start with "{" or dimension information.')
    pos, value = _parse_array_level(text, s, 0, elem, tz)
    if s[pos:].strip():
        raise errors.InvalidTextRepresentation(
            f'malformed array literal: "{text}"', detail="Junk after closing right brace.")
    return value


def _parse_array_level(orig: str, s: str, pos: int, elem: T.SqlType,
                       tz: dt.tzinfo) -> tuple[int, list]:
    assert s[pos] == "{"
    pos += 1
    out: list = []
    n = len(s)
    expect_item = True
    while True:
        while pos < n and s[pos].isspace():
            pos += 1
        if pos >= n:
            raise errors.InvalidTextRepresentation(
                f'malformed array literal: "{orig}"', detail="Unexpected end of input.")
        c = s[pos]
        if c == "}":
            pos += 1
            break
        if c == ",":
            if expect_item:
                raise errors.InvalidTextRepresentation(
                    f'malformed array literal: "{orig}"', detail='Unexpected "," character.')
            expect_item = True
            pos += 1
            continue
        if c == "{":
            pos, sub = _parse_array_level(orig, s, pos, elem, tz)
            out.append(sub)
        elif c == '"':
            pos += 1
            buf = []
            while True:
                if pos >= n:
                    raise errors.InvalidTextRepresentation(
                        f'malformed array literal: "{orig}"', detail="Unexpected end of input.")
                ch = s[pos]
                if ch == "\\":
                    buf.append(s[pos + 1:pos + 2])
                    pos += 2
                elif ch == '"':
                    pos += 1
                    break
                else:
                    buf.append(ch)
                    pos += 1
            out.append(parse_text(elem, "".join(buf), tz))
        else:
            start = pos
            buf = []
            while pos < n and s[pos] not in ",}":
                if s[pos] == "\\":
                    buf.append(s[pos + 1:pos + 2])
                    pos += 2
                    continue
                buf.append(s[pos])
                pos += 1
            raw = "".join(buf).strip()
            if not raw and start == pos:
                raise errors.InvalidTextRepresentation(f'malformed array literal: "{orig}"')
            out.append(None if raw.upper() == "NULL" else parse_text(elem, raw, tz))
        expect_item = False
    return pos, out


def round_fraction(v: Any, precision: int) -> Any:
    """time / timestamp rounded to `precision` fractional-second digits
    (half up, as PostgreSQL); precision -1 keeps microseconds."""
    if precision < 0 or precision >= 6:
        return v
    unit = 10 ** (6 - precision)
    us = v.microsecond
    rounded = (us + unit // 2) // unit * unit
    if rounded == us:
        return v
    if isinstance(v, dt.datetime):
        return v.replace(microsecond=0) + dt.timedelta(microseconds=rounded)
    full = dt.datetime.combine(dt.date(2000, 1, 1), v.replace(microsecond=0)) + \
        dt.timedelta(microseconds=rounded)
    return full.time().replace(tzinfo=v.tzinfo)


def parse_text(t: T.SqlType, text: str, tz: dt.tzinfo = UTC,
               now: dt.datetime | None = None) -> Any:
    """Client text → value of type t (typmods applied for char/varchar/numeric)."""
    oid = t.oid
    if oid in (T.TEXT.oid, T.NAME.oid, T.UNKNOWN.oid):
        return text
    if oid in (T.INT2.oid, T.INT4.oid, T.INT8.oid, T.OID.oid):
        return parse_int(t, text)
    if oid in (T.VARCHAR.oid, T.BPCHAR.oid, T.CHAR.oid):
        from aiondb.sql.casts import apply_char_typmod
        return apply_char_typmod(t, text, explicit=False)
    if oid == T.NUMERIC.oid:
        return parse_numeric(t, text)
    if oid in (T.FLOAT4.oid, T.FLOAT8.oid):
        return parse_float(t, text)
    if oid == T.BOOL.oid:
        return parse_bool(text)
    if oid == T.DATE.oid:
        return parse_date(text, now)
    if oid == T.TIME.oid:
        return round_fraction(parse_time(text), t.typmod)
    if oid == T.TIMESTAMP.oid:
        return round_fraction(parse_timestamp(text, False, tz, now), t.typmod)
    if oid == T.TIMESTAMPTZ.oid:
        return round_fraction(parse_timestamp(text, True, tz, now), t.typmod)
    if oid == T.INTERVAL.oid:
        return parse_interval(text)
    if oid == T.UUID.oid:
        return parse_uuid(text)
    if oid == T.PG_LSN.oid:
        return parse_lsn(text)
    if oid == T.BYTEA.oid:
        return parse_bytea(text)
    if oid == T.JSON.oid:
        return parse_json(text)
    if oid == T.JSONB.oid:
        return parse_jsonb(text)
    if oid == T.VECTOR.oid:
        v = parse_vector(text)
        if t.typmod > 0 and len(v) != t.typmod:
            raise errors.DataException(f"expected {t.typmod} dimensions, not {len(v)}")
        return v
    if t.elem is not None:
        return parse_array(text, t.elem, tz)
    if oid == T.XID.oid:
        return parse_int(T.INT8, text)
    if oid == T.CHAR.oid:
        return text[:1]
    if oid in (T.INT2VECTOR.oid, T.OIDVECTOR.oid):
        return [int(x) for x in text.split()]
    if oid == T.RECORD.oid:
        raise errors.FeatureNotSupported("input of anonymous composite types is not implemented")
    if oid in (T.REGCLASS.oid, T.REGTYPE.oid, T.REGPROC.oid, T.REGNAMESPACE.oid, T.REGROLE.oid):
        return text  # resolved against the catalog by the cast that needs it
    return text


def text_or_none(t: T.SqlType, v: Any, tz: dt.tzinfo = UTC) -> str | None:
    return None if v is None else format_text(t, v, tz)

