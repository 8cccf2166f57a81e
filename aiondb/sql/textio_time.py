"""Date, time, timestamp and interval text input, and time zone resolution,
in PostgreSQL's formats (DateStyle ISO, MDY for ambiguous slashed dates).

Split from textio.py, which re-exports these names; the SQLSTATEs are
PostgreSQL's (22007 bad syntax, 22008 field out of range).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiondb import errors
from aiondb import types as T
from aiondb.values import USECS_PER_DAY, USECS_PER_SEC, Interval

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
    if type(tz) is dt.timezone:     # a fixed offset (UTC): no such hours
        return naive.replace(tzinfo=tz)
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
        # as PostgreSQL: a month or day no calendar has may be fields read
        # in the wrong order
        raise errors.DatetimeFieldOverflow(
            f'date/time field value out of range: "{text}"',
            hint='Perhaps you need a different "datestyle" setting.'
            if not (1 <= m <= 12 and 1 <= d <= 31) else None) from None


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
