"""Text input and output of every type, in PostgreSQL's formats
(DateStyle ISO, IntervalStyle postgres, extra_float_digits 1, bytea hex).

`parse_text(type, text, tz)` turns client text into a value and raises the
SQLSTATE PostgreSQL raises (22P02, 22003, 22007, 22008 ...);
`format_text(type, value, tz)` is the inverse. `output_encoder` returns the
per-column function the wire layer uses for DataRow values.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import struct
import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiondb import errors
from aiondb import types as T
from aiondb.values import JSON_NULL, USECS_PER_DAY, USECS_PER_SEC, Interval

UTC = dt.UTC


def type_label(t: T.SqlType) -> str:
    """The type name PostgreSQL uses in input error messages."""
    if t.elem is not None:
        return type_label(t.elem) + "[]"
    return T.DISPLAY_NAMES.get(t.name, t.name) if t.name not in ("timestamp", "timestamptz",
                                                                   "time") else {
        "timestamp": "timestamp", "timestamptz": "timestamp with time zone",
        "time": "time"}[t.name]


def _invalid(t: T.SqlType, text: str) -> errors.DatabaseError:
    return errors.InvalidTextRepresentation(
        f'invalid input syntax for type {type_label(t)}: "{text}"')


# --- time zones --------------------------------------------------------------------------------

_TZ_CACHE: dict[str, dt.tzinfo] = {}
_OFFSET_RE = re.compile(r"^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?$", re.I)
_POSIX_ABBR_RE = re.compile(r"^<[^>]*>([+-]?)(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?$")


def iso_offset_zone(text: str) -> dt.tzinfo | None:
    """The offset written after a time in a literal ('10:00+02', '-03:30'):
    ISO 8601, positive east of Greenwich, unlike an offset in a zone name."""
    m = _OFFSET_RE.match(text.strip())
    if m is None or text.strip()[:1] not in "+-":
        return None
    sign = -1 if m.group(1) == "-" else 1
    secs = int(m.group(2)) * 3600 + int(m.group(3) or 0) * 60 + int(m.group(4) or 0)
    return dt.timezone(dt.timedelta(seconds=sign * secs))


def numeric_zone(value: str) -> str | None:
    """SET TIME ZONE -7 (or '-7'): ISO hours east of UTC, written the way
    PostgreSQL shows it: '<-07>+07'. None when value is not a bare number."""
    m = re.fullmatch(r"\s*([+-]?)(\d+(?:\.\d+)?)\s*", value)
    if m is None:
        return None
    secs = round(float(m.group(2)) * 3600) * (-1 if m.group(1) == "-" else 1)
    if abs(secs) > 15 * 3600 + 59 * 60:
        raise errors.InvalidParameterValue(f'invalid value for parameter "TimeZone": "{value}"')
    hh, rest = divmod(abs(secs), 3600)
    mm = rest // 60
    iso = f"{'-' if secs < 0 else '+'}{hh:02d}" + (f":{mm:02d}" if mm else "")
    posix = f"{'+' if secs < 0 else '-'}{hh:02d}" + (f":{mm:02d}" if mm else "")
    return f"<{iso}>{posix}"


def localize(naive: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """Local wall-clock time → aware datetime, choosing as PostgreSQL does
    when the clock is ambiguous or skipped: a repeated hour (autumn) means
    its later, standard-time occurrence; a skipped hour (spring) is read
    with the offset in force before the change (02:30 → 03:30 DST)."""
    first = naive.replace(tzinfo=tz)
    second = naive.replace(tzinfo=tz, fold=1)
    off1, off2 = first.utcoffset(), second.utcoffset()
    if off1 is not None and off2 is not None and off1 > off2:
        return second          # the hour happens twice
    return first


def get_timezone(name: str) -> dt.tzinfo:
    """A tzinfo for a zone name ('UTC', 'Europe/Paris', 'UTC+3', '+05:30',
    '<-07>+07'). Offsets written in a zone name are POSIX-style, as in
    PostgreSQL: '+05:30' and 'UTC+3' lie west of Greenwich (UTC-5:30, UTC-3).
    (A bare number given to SET TIME ZONE is ISO hours: settings.py turns it
    into the '<-07>+07' form first.)"""
    tz = _TZ_CACHE.get(name)
    if tz is not None:
        return tz
    key = name.strip()
    if key.upper() in ("UTC", "GMT", "Z", "ZULU", "ETC/UTC", "UCT"):
        tz = UTC
    else:
        m = _OFFSET_RE.match(key) or _POSIX_ABBR_RE.match(key)
        if m:
            sign = 1 if m.group(1) == "-" else -1       # POSIX: positive is west
            secs = int(m.group(2)) * 3600 + int(m.group(3) or 0) * 60 + int(m.group(4) or 0)
            tz = dt.timezone(dt.timedelta(seconds=sign * secs))
        else:
            try:
                tz = ZoneInfo(key)
            except (ZoneInfoNotFoundError, ValueError):
                # PostgreSQL matches zone names case-insensitively
                tz = _zone_case_insensitive(key)
                if tz is None:
                    raise errors.InvalidParameterValue(
                        f'invalid value for parameter "TimeZone": "{name}"') from None
    _TZ_CACHE[name] = tz
    return tz


def _zone_case_insensitive(key: str) -> dt.tzinfo | None:
    import zoneinfo
    lower = key.lower()
    for zone in zoneinfo.available_timezones():
        if zone.lower() == lower:
            return ZoneInfo(zone)
    return None


def format_utc_offset(off: dt.timedelta | None) -> str:
    secs = int(off.total_seconds()) if off is not None else 0
    sign = "-" if secs < 0 else "+"
    secs = abs(secs)
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    out = f"{sign}{h:02d}"
    if m or s:
        out += f":{m:02d}"
    if s:
        out += f":{s:02d}"
    return out


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

_INT_RE = re.compile(r"^\s*([+-]?)\s*(\d+)\s*$")
_INT_UNDERSCORE_RE = re.compile(r"^\s*([+-]?)(\d+(?:_\d+)*)\s*$")


def parse_int(t: T.SqlType, text: str) -> int:
    m = _INT_RE.match(text) or _INT_UNDERSCORE_RE.match(text)
    if m is None:
        m2 = re.match(r"^\s*([+-]?)0[xX]([0-9a-fA-F]+)\s*$", text)
        if m2 is None:
            raise _invalid(t, text)
        value = int(m2.group(2), 16)
        if m2.group(1) == "-":
            value = -value
    else:
        value = int(m.group(2).replace("_", ""))
        if m.group(1) == "-":
            value = -value
    lo, hi, label = T.INT_RANGES[t.oid]
    if not lo <= value <= hi:
        raise errors.NumericValueOutOfRange(f'value "{text}" is out of range for type {label}')
    return value


_NUMERIC_RE = re.compile(r"^\s*[+-]?(\d+(_\d+)*\.?\d*(_\d+)*|\.\d+)([eE][+-]?\d+)?\s*$")


def parse_numeric(t: T.SqlType, text: str) -> Decimal:
    s = text.strip()
    low = s.lower()
    if low == "nan":
        return Decimal("NaN")
    if low in ("infinity", "+infinity", "inf", "+inf"):
        return Decimal("Infinity")
    if low in ("-infinity", "-inf"):
        return Decimal("-Infinity")
    if not _NUMERIC_RE.match(s):
        raise _invalid(T.NUMERIC, text)
    try:
        value = Decimal(s.replace("_", ""))
    except InvalidOperation:
        raise _invalid(T.NUMERIC, text) from None
    if t.typmod != -1:
        from aiondb.sql.casts import apply_numeric_typmod
        value = apply_numeric_typmod(value, t.typmod)
    return value


_FLOAT_SPECIAL = {"nan": math.nan, "infinity": math.inf, "+infinity": math.inf,
                  "-infinity": -math.inf, "inf": math.inf, "+inf": math.inf,
                  "-inf": -math.inf}


def parse_float(t: T.SqlType, text: str) -> float:
    s = text.strip()
    special = _FLOAT_SPECIAL.get(s.lower())
    if special is not None:
        return special
    try:
        if not re.match(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$", s):
            raise ValueError
        value = float(s)
    except ValueError:
        raise _invalid(t, text) from None
    if math.isinf(value):
        raise errors.NumericValueOutOfRange(
            f'"{s}" is out of range for type {type_label(t)}')
    if t.oid == T.FLOAT4.oid:
        try:
            value = struct.unpack("f", struct.pack("f", value))[0]
        except OverflowError:
            raise errors.NumericValueOutOfRange(
                f'"{s}" is out of range for type real') from None
    return value


def parse_bool(text: str) -> bool:
    s = text.strip().lower()
    if s:
        if s in ("t", "y") or s == "on" or s == "1":
            return True
        if s in ("f", "n") or s == "off" or s == "0":
            return False
        if s != "o":
            for w in ("true", "yes"):
                if w.startswith(s):
                    return True
            for w in ("false", "no"):
                if w.startswith(s):
                    return False
    raise _invalid(T.BOOL, text)


_DATE_RE = re.compile(r"^\s*(\d{1,7})-(\d{1,2})-(\d{1,2})(?:\s+(BC|AD))?\s*$", re.I)
_DATE_COMPACT_RE = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})\s*$")
_DATE_SLASH_RE = re.compile(r"^\s*(\d{1,2})([-/.])(\d{1,2})\2(\d{2,4})\s*$")
_DATE_YMD_RE = re.compile(r"^\s*(\d{3,7})([/.])(\d{1,2})\2(\d{1,2})\s*$")
_MONTHS = {m: i + 1 for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}
_DATE_WORDY_RE = re.compile(r"^\s*([A-Za-z]+)\s+(\d{1,2}),?\s+(\d{4})\s*$")
_DATE_WORDY2_RE = re.compile(r"^\s*(\d{1,2})[\s-]+([A-Za-z]+)[\s-]+(\d{4})\s*$")


def _make_date(t: T.SqlType, text: str, y: int, m: int, d: int) -> dt.date:
    try:
        return dt.date(y, m, d)
    except ValueError:
        if y < 1 or y > 9999:
            raise errors.DatetimeFieldOverflow(
                f'date out of range: "{text}"') from None
        raise errors.DatetimeFieldOverflow(
            f'date/time field value out of range: "{text}"') from None


def _special_date(text: str, now: dt.datetime | None) -> dt.date | None:
    s = text.strip().lower()
    if s in ("today", "now", "tomorrow", "yesterday"):
        base = (now or dt.datetime.now(UTC)).date()
        return base + dt.timedelta(days={"tomorrow": 1, "yesterday": -1}.get(s, 0))
    if s == "epoch":
        return dt.date(1970, 1, 1)
    if s in ("infinity", "-infinity"):
        raise errors.FeatureNotSupported("infinite dates are not supported")
    return None


def parse_date(text: str, now: dt.datetime | None = None) -> dt.date:
    sp = _special_date(text, now)
    if sp is not None:
        return sp
    m = _DATE_RE.match(text)
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if m.group(4) and m.group(4).upper() == "BC":
            raise errors.FeatureNotSupported("dates BC are not supported")
        return _make_date(T.DATE, text, y, mo, d)
    m = _DATE_COMPACT_RE.match(text)
    if m:
        return _make_date(T.DATE, text, int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = _DATE_YMD_RE.match(text)
    if m:  # a leading year of 3+ digits: Y/M/D whatever the DateStyle
        return _make_date(T.DATE, text, int(m.group(1)), int(m.group(3)), int(m.group(4)))
    m = _DATE_SLASH_RE.match(text)
    if m:  # DateStyle MDY
        y = int(m.group(4))
        if y < 100:
            y += 2000 if y < 70 else 1900
        return _make_date(T.DATE, text, y, int(m.group(1)), int(m.group(3)))
    m = _DATE_WORDY_RE.match(text)
    if m and m.group(1)[:3].lower() in _MONTHS:
        return _make_date(T.DATE, text, int(m.group(3)), _MONTHS[m.group(1)[:3].lower()],
                          int(m.group(2)))
    m = _DATE_WORDY2_RE.match(text)
    if m and m.group(2)[:3].lower() in _MONTHS:
        return _make_date(T.DATE, text, int(m.group(3)), _MONTHS[m.group(2)[:3].lower()],
                          int(m.group(1)))
    # a timestamp is accepted as a date (its time part dropped)
    try:
        return parse_timestamp(text).date()
    except errors.DatabaseError:
        pass
    raise errors.InvalidDatetimeFormat(f'invalid input syntax for type date: "{text}"')


_TIME_RE = re.compile(
    r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?\s*(am|pm)?\s*"
    r"(Z|[+-]\d{1,2}(?::?\d{2})?(?::?\d{2})?|UTC|GMT)?$", re.I)


def _parse_time_parts(text: str, part: str, what: str) -> tuple[dt.time, dt.tzinfo | None]:
    m = _TIME_RE.match(part.strip())
    if not m:
        raise errors.InvalidDatetimeFormat(f'invalid input syntax for type {what}: "{text}"')
    h, mi = int(m.group(1)), int(m.group(2))
    s = int(m.group(3) or 0)
    frac = m.group(4) or ""
    micro = 0
    if frac:
        # round to microseconds, as PostgreSQL does
        micro = round(int(frac) * 10 ** (6 - len(frac))) if len(frac) <= 6 else \
            round(Decimal("0." + frac) * USECS_PER_SEC)
    ampm = m.group(5)
    if ampm:
        if h > 12:
            raise errors.DatetimeFieldOverflow(f'date/time field value out of range: "{text}"')
        h = h % 12 + (12 if ampm.lower() == "pm" else 0)
    carry = 0
    if micro >= USECS_PER_SEC:
        micro -= USECS_PER_SEC
        s += 1
    if s == 60:
        s = 0
        mi += 1
    if mi == 60:
        mi = 0
        h += 1
    if h == 24 and mi == 0 and s == 0 and micro == 0:
        h = 0
        carry = 1
    if h > 23 or mi > 59 or s > 59:
        raise errors.DatetimeFieldOverflow(f'date/time field value out of range: "{text}"')
    tz = None
    zone = m.group(6)
    if zone:
        tz = iso_offset_zone(zone) or get_timezone(zone if zone.upper() != "Z" else "UTC")
    t = dt.time(h, mi, s, micro)
    if carry:
        t = dt.time(0, 0, 0, 0, tzinfo=None)
        t = t.replace(fold=1)  # marks 24:00:00 carry for timestamp parsing
    return t, tz


def parse_time(text: str) -> dt.time:
    s = text.strip()
    if s.lower() in ("now", "allballs"):
        return dt.time(0, 0) if s.lower() == "allballs" else dt.datetime.now(UTC).time()
    t, _ = _parse_time_parts(text, s, "time")
    return t.replace(fold=0)


_TS_RE = re.compile(r"^\s*(\d{1,7}-\d{1,2}-\d{1,2}|\d{8})(?:[T\s]+(.*?))?\s*$", re.I)
_TZ_NAME_TAIL = re.compile(r"^(.*?)\s+([A-Za-z][A-Za-z_/+-]*[A-Za-z0-9_]?)$")


def parse_timestamp(text: str, with_tz: bool = False, tz: dt.tzinfo = UTC,
                    now: dt.datetime | None = None) -> dt.datetime:
    """timestamp (naive) or, with_tz, timestamptz (aware, in UTC)."""
    what = "timestamp with time zone" if with_tz else "timestamp"
    s = text.strip()
    low = s.lower()
    if low in ("now", "today", "tomorrow", "yesterday", "epoch"):
        base = now or dt.datetime.now(UTC)
        if low == "now":
            value = base if with_tz else base.astimezone(tz).replace(tzinfo=None)
            return value
        if low == "epoch":
            return dt.datetime(1970, 1, 1, tzinfo=UTC if with_tz else None)
        d = base.astimezone(tz).date() + dt.timedelta(
            days={"tomorrow": 1, "yesterday": -1}.get(low, 0))
        naive = dt.datetime(d.year, d.month, d.day)
        return localize(naive, tz).astimezone(UTC) if with_tz else naive
    if low in ("infinity", "-infinity"):
        raise errors.FeatureNotSupported("infinite timestamps are not supported")
    m = _TS_RE.match(s)
    if not m:
        raise errors.InvalidDatetimeFormat(f'invalid input syntax for type {what}: "{text}"')
    try:
        d = parse_date(m.group(1))
    except errors.DatabaseError:
        raise errors.InvalidDatetimeFormat(
            f'invalid input syntax for type {what}: "{text}"') from None
    rest = (m.group(2) or "").strip()
    zone: dt.tzinfo | None = None
    t = dt.time(0, 0)
    carry = False
    if rest:
        named = _TZ_NAME_TAIL.match(rest)
        if named and not _TIME_RE.match(rest):
            rest, zname = named.group(1), named.group(2)
            zone = get_timezone(zname)
        try:
            t, ztz = _parse_time_parts(text, rest, what)
        except errors.InvalidDatetimeFormat:
            raise errors.InvalidDatetimeFormat(
                f'invalid input syntax for type {what}: "{text}"') from None
        carry = t.fold == 1
        t = t.replace(fold=0)
        zone = ztz or zone
    value = dt.datetime.combine(d, t)
    if carry:
        value += dt.timedelta(days=1)
    if not with_tz:
        return value
    return localize(value, zone or tz).astimezone(UTC) if zone or tz is not UTC else \
        value.replace(tzinfo=UTC)


# interval units → (months, days, microseconds) per unit
_INTERVAL_UNITS: dict[str, tuple[float, float, float]] = {}
for _names, _val in (
    (("microsecond", "microseconds", "us", "usec", "usecs", "useconds"), (0, 0, 1)),
    (("millisecond", "milliseconds", "ms", "msec", "msecs", "mseconds"), (0, 0, 1000)),
    (("second", "seconds", "s", "sec", "secs"), (0, 0, USECS_PER_SEC)),
    (("minute", "minutes", "m", "min", "mins"), (0, 0, 60 * USECS_PER_SEC)),
    (("hour", "hours", "h", "hr", "hrs"), (0, 0, 3600 * USECS_PER_SEC)),
    (("day", "days", "d"), (0, 1, 0)),
    (("week", "weeks", "w"), (0, 7, 0)),
    (("month", "months", "mon", "mons"), (1, 0, 0)),
    (("year", "years", "y", "yr", "yrs"), (12, 0, 0)),
    (("decade", "decades"), (120, 0, 0)),
    (("century", "centuries"), (1200, 0, 0)),
    (("millennium", "millennia", "millenniums"), (12000, 0, 0)),
):
    for _n in _names:
        _INTERVAL_UNITS[_n] = _val

_INTERVAL_TOKEN = re.compile(
    r"\s*(?:(?P<time>[+-]?\d+:\d+(?::\d+(?:\.\d*)?)?)|(?P<num>[+-]?(?:\d+\.?\d*|\.\d+))"
    r"\s*(?P<unit>[A-Za-z]+)?|(?P<ago>ago)|(?P<at>@))", re.I)
_ISO_INTERVAL = re.compile(
    r"^P(?:(?P<y>[-\d.]+)Y)?(?:(?P<mo>[-\d.]+)M)?(?:(?P<w>[-\d.]+)W)?(?:(?P<d>[-\d.]+)D)?"
    r"(?:T(?:(?P<h>[-\d.]+)H)?(?:(?P<mi>[-\d.]+)M)?(?:(?P<s>[-\d.]+)S)?)?$", re.I)


def _add_units(acc: list[float], amount: float, unit: tuple[float, float, float]) -> None:
    months = amount * unit[0]
    days = amount * unit[1]
    micros = amount * unit[2]
    # fractional months/days cascade down, as PostgreSQL does
    whole_months = math.trunc(months)
    days += (months - whole_months) * 30
    whole_days = math.trunc(days)
    micros += (days - whole_days) * USECS_PER_DAY
    acc[0] += whole_months
    acc[1] += whole_days
    acc[2] += micros


def parse_interval(text: str, field: str | None = None) -> Interval:
    s = text.strip()
    if not s:
        raise errors.InvalidDatetimeFormat(f'invalid input syntax for type interval: "{text}"')
    iso = _ISO_INTERVAL.match(s)
    if iso and s.upper().startswith("P"):
        acc = [0.0, 0.0, 0.0]
        for key, unit in (("y", "year"), ("mo", "month"), ("w", "week"), ("d", "day"),
                          ("h", "hour"), ("mi", "minute"), ("s", "second")):
            v = iso.group(key)
            if v:
                _add_units(acc, float(v), _INTERVAL_UNITS[unit])
        return Interval(int(acc[0]), int(acc[1]), round(acc[2]))
    acc = [0.0, 0.0, 0.0]
    pos = 0
    ago = False
    seen = False
    while pos < len(s):
        m = _INTERVAL_TOKEN.match(s, pos)
        if not m or m.end() == pos:
            raise errors.InvalidDatetimeFormat(
                f'invalid input syntax for type interval: "{text}"')
        pos = m.end()
        if m.group("at"):
            continue
        if m.group("ago"):
            ago = True
            continue
        seen = True
        if m.group("time"):
            tpart = m.group("time")
            neg = tpart.startswith("-")
            pieces = tpart.lstrip("+-").split(":")
            h = int(pieces[0])
            mi = int(pieces[1])
            sec = float(pieces[2]) if len(pieces) > 2 else 0.0
            micros = round((h * 3600 + mi * 60) * USECS_PER_SEC + sec * USECS_PER_SEC)
            acc[2] += -micros if neg else micros
            continue
        num = float(m.group("num"))
        unit_name = (m.group("unit") or "").lower()
        if not unit_name:
            unit_name = field or "second"
        unit = _INTERVAL_UNITS.get(unit_name)
        if unit is None:
            raise errors.InvalidDatetimeFormat(
                f'invalid input syntax for type interval: "{text}"')
        _add_units(acc, num, unit)
    if not seen:
        raise errors.InvalidDatetimeFormat(f'invalid input syntax for type interval: "{text}"')
    result = Interval(int(acc[0]), int(acc[1]), round(acc[2]))
    return -result if ago else result


def parse_uuid(text: str) -> uuid.UUID:
    s = text.strip()
    try:
        if not re.fullmatch(r"\{?[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}\}?", s):
            raise ValueError
        return uuid.UUID(s.strip("{}"))
    except ValueError:
        raise _invalid(T.UUID, text) from None


def parse_bytea(text: str) -> bytes:
    if text.startswith("\\x"):
        hexpart = re.sub(r"\s+", "", text[2:])
        try:
            return bytes.fromhex(hexpart)
        except ValueError:
            bad = next((c for c in hexpart if c not in "0123456789abcdefABCDEF"), "")
            if bad:
                raise errors.InvalidTextRepresentation(
                    f'invalid hexadecimal digit: "{bad}"') from None
            raise errors.InvalidTextRepresentation("invalid hexadecimal data: odd number of "
                                                   "digits") from None
    out = bytearray()
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
        elif text[i + 1:i + 2] == "\\":
            out.append(0x5C)
            i += 2
        elif re.match(r"[0-3][0-7]{2}", text[i + 1:i + 4]):
            out.append(int(text[i + 1:i + 4], 8))
            i += 4
        else:
            raise errors.InvalidTextRepresentation('invalid input syntax for type bytea')
    return bytes(out)


def _jsonb_object(pairs: list[tuple[str, Any]]) -> dict:
    return dict(pairs)  # duplicate keys: the last one wins, as in jsonb


def _json_constant(name: str) -> Any:
    raise ValueError(f"invalid token {name}")


def parse_jsonb(text: str) -> Any:
    try:
        v = json.loads(text, parse_float=Decimal, object_pairs_hook=_jsonb_object,
                       parse_constant=_json_constant)
    except (ValueError, RecursionError) as exc:
        raise errors.InvalidTextRepresentation(
            "invalid input syntax for type json", detail=_json_detail(exc)) from None
    return JSON_NULL if v is None else _normalize_json_numbers(v)


def _normalize_json_numbers(v: Any) -> Any:
    # PostgreSQL keeps numbers as numeric: 1e3 → 1000, 1.0 stays 1.0
    if isinstance(v, Decimal):
        if v == v.to_integral_value() and "e" in str(v).lower():
            return int(v)
        return v
    if isinstance(v, dict):
        return {k: _normalize_json_numbers(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_normalize_json_numbers(x) for x in v]
    return v


def _json_detail(exc: Exception) -> str:
    msg = str(exc)
    return f"Token is invalid: {msg.split(':')[0]}." if msg else "Token is invalid."


def parse_json(text: str) -> str:
    parse_jsonb(text)
    return text


def parse_vector(text: str) -> tuple[float, ...]:
    s = text.strip()
    if not (s.startswith("[") and s.endswith("]")):
        raise errors.InvalidTextRepresentation(
            f'invalid input syntax for type vector: "{text}"',
            detail='Vector contents must start with "[".')
    body = s[1:-1].strip()
    if not body:
        raise errors.DataException("vector must have at least 1 dimension")
    try:
        vals = tuple(struct.unpack("f", struct.pack("f", float(x)))[0] for x in body.split(","))
    except (ValueError, OverflowError):
        raise errors.InvalidTextRepresentation(
            f'invalid input syntax for type vector: "{text}"') from None
    for v in vals:
        if math.isnan(v):
            raise errors.DataException("NaN not allowed in vector")
        if math.isinf(v):
            raise errors.DataException("infinite value not allowed in vector")
    return vals


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

