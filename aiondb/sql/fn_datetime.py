"""Date/time functions and operators with PostgreSQL's semantics (interval
arithmetic by months, then days, then microseconds; extract() returning
numeric; date_trunc; age; to_char for common patterns)."""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from typing import Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql.functions import func, op
from aiondb.sql.textio import UTC, get_timezone, localize
from aiondb.values import USECS_PER_DAY, USECS_PER_SEC, Interval

DATE, TIME, TS, TSTZ, IV = T.DATE, T.TIME, T.TIMESTAMP, T.TIMESTAMPTZ, T.INTERVAL


def _range_error() -> errors.DatabaseError:
    return errors.DatetimeFieldOverflow("timestamp out of range")


# --- current time --------------------------------------------------------------------------------

func(("now", "transaction_timestamp", "current_timestamp"), (), TSTZ, needs_ctx=True)(
    lambda ctx: ctx.transaction_time)
func("statement_timestamp", (), TSTZ, needs_ctx=True)(lambda ctx: ctx.statement_time)
func("clock_timestamp", (), TSTZ, volatile=True)(lambda: dt.datetime.now(UTC))
func("timeofday", (), T.TEXT, volatile=True)(
    lambda: dt.datetime.now(UTC).strftime("%a %b %d %H:%M:%S.%f %Y UTC"))
func("current_date", (), DATE, needs_ctx=True)(
    lambda ctx: ctx.transaction_time.astimezone(ctx.tz).date())
func("current_time", (), TIME, needs_ctx=True)(
    lambda ctx: ctx.transaction_time.astimezone(ctx.tz).time())
func("localtimestamp", (), TS, needs_ctx=True)(
    lambda ctx: ctx.transaction_time.astimezone(ctx.tz).replace(tzinfo=None))
func("localtime", (), TIME, needs_ctx=True)(
    lambda ctx: ctx.transaction_time.astimezone(ctx.tz).time())


# --- interval arithmetic ------------------------------------------------------------------------

def add_months(d: Any, months: int) -> Any:
    if not months:
        return d
    total = d.year * 12 + (d.month - 1) + months
    y, m = divmod(total, 12)
    if not 1 <= y <= 9999:
        raise _range_error()
    day = min(d.day, calendar.monthrange(y, m + 1)[1])
    return d.replace(year=y, month=m + 1, day=day)


def ts_add(ts: dt.datetime, iv: Interval, tz: dt.tzinfo | None = None) -> dt.datetime:
    """timestamp(tz) + interval; for timestamptz, months and days move in the
    session time zone (so '1 day' across a DST change keeps the wall time)."""
    try:
        if tz is not None and ts.tzinfo is not None and (iv.months or iv.days):
            local = ts.astimezone(tz).replace(tzinfo=None)
            local = add_months(local, iv.months) + dt.timedelta(days=iv.days)
            base = localize(local, tz).astimezone(UTC)
            return base + dt.timedelta(microseconds=iv.micros)
        r = add_months(ts, iv.months)
        return r + dt.timedelta(days=iv.days, microseconds=iv.micros)
    except OverflowError:
        raise _range_error() from None


def ts_diff(a: dt.datetime, b: dt.datetime) -> Interval:
    delta = a - b
    micros = delta.days * USECS_PER_DAY + delta.seconds * USECS_PER_SEC + delta.microseconds
    days, rem = divmod(abs(micros), USECS_PER_DAY)
    sign = -1 if micros < 0 else 1
    return Interval(0, sign * days, sign * rem)


def _date_plus_int(d: dt.date, n: int) -> dt.date:
    try:
        return d + dt.timedelta(days=n)
    except OverflowError:
        raise errors.DatetimeFieldOverflow("date out of range") from None


op("+", DATE, T.INT4, DATE)(_date_plus_int)
op("+", T.INT4, DATE, DATE)(lambda n, d: _date_plus_int(d, n))
op("-", DATE, T.INT4, DATE)(lambda d, n: _date_plus_int(d, -n))
op("-", DATE, DATE, T.INT4)(lambda a, b: (a - b).days)
op("+", DATE, IV, TS)(lambda d, iv: ts_add(dt.datetime(d.year, d.month, d.day), iv))
op("-", DATE, IV, TS)(lambda d, iv: ts_add(dt.datetime(d.year, d.month, d.day), -iv))
op("+", DATE, TIME, TS)(lambda d, t: dt.datetime.combine(d, t))
op("+", TS, IV, TS)(ts_add)
op("-", TS, IV, TS)(lambda ts, iv: ts_add(ts, -iv))
op("+", IV, TS, TS)(lambda iv, ts: ts_add(ts, iv))
op("-", TS, TS, IV)(ts_diff)
op("+", TSTZ, IV, TSTZ, needs_ctx=True)(lambda ctx, ts, iv: ts_add(ts, iv, ctx.tz))
op("-", TSTZ, IV, TSTZ, needs_ctx=True)(lambda ctx, ts, iv: ts_add(ts, -iv, ctx.tz))
op("+", IV, TSTZ, TSTZ, needs_ctx=True)(lambda ctx, iv, ts: ts_add(ts, iv, ctx.tz))
op("-", TSTZ, TSTZ, IV)(ts_diff)
op("+", IV, IV, IV)(lambda a, b: a + b)
op("-", IV, IV, IV)(lambda a, b: a - b)
op("-", None, IV, IV)(lambda a: -a)


def _time_plus(t: dt.time, iv: Interval) -> dt.time:
    micros = ((t.hour * 60 + t.minute) * 60 + t.second) * USECS_PER_SEC + t.microsecond
    micros = (micros + iv.micros) % USECS_PER_DAY
    s, us = divmod(micros, USECS_PER_SEC)
    return dt.time(s // 3600, s // 60 % 60, s % 60, us)


op("+", TIME, IV, TIME)(_time_plus)
op("-", TIME, IV, TIME)(lambda t, iv: _time_plus(t, -iv))
op("-", TIME, TIME, IV)(lambda a, b: Interval(0, 0, _time_micros(a) - _time_micros(b)))


def _time_micros(t: dt.time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * USECS_PER_SEC + t.microsecond


def iv_mul(iv: Interval, f: float) -> Interval:
    months = iv.months * f
    days_f = iv.days * f
    if not (abs(months) < 2**31 and abs(days_f) < 2**31) or f != f:
        raise errors.DatetimeFieldOverflow("interval out of range")
    whole_m = int(months)
    days = days_f + (months - whole_m) * 30
    whole_d = int(days)
    micros = iv.micros * f + (days - whole_d) * USECS_PER_DAY
    if not abs(micros) < 2**63:
        raise errors.DatetimeFieldOverflow("interval out of range")
    return Interval(whole_m, whole_d, round(micros))


def iv_div(iv: Interval, f: float) -> Interval:
    if f == 0:
        raise errors.DivisionByZero("division by zero")
    return iv_mul(iv, 1 / f) if abs(f) > 1e-300 else iv


op("*", IV, T.FLOAT8, IV)(iv_mul)
op("*", T.FLOAT8, IV, IV)(lambda f, iv: iv_mul(iv, f))
op("/", IV, T.FLOAT8, IV)(iv_div)


# --- extract / date_part -----------------------------------------------------------------------------

_FIELD_ALIASES = {"years": "year", "months": "month", "days": "day", "hours": "hour",
                  "minutes": "minute", "seconds": "second", "mins": "minute",
                  "secs": "second", "y": "year", "d": "day", "h": "hour", "m": "minute",
                  "s": "second", "ms": "milliseconds", "us": "microseconds",
                  "millisecond": "milliseconds", "microsecond": "microseconds",
                  "yr": "year", "mon": "month", "mons": "month"}


_FIELD_CACHE: dict[str, str] = {}


def _field(name: str) -> str:
    f = _FIELD_CACHE.get(name)
    if f is None:
        f = name.lower().strip()
        f = _FIELD_ALIASES.get(f, f)
        if len(_FIELD_CACHE) < 1000:    # unit names are few; bound it anyway
            _FIELD_CACHE[name] = f
    return f


def _extract_ts(field: str, v: dt.datetime, kind: str) -> Decimal:
    f = _field(field)
    if f == "epoch":
        if v.tzinfo is None:
            base = v.replace(tzinfo=UTC)
        else:
            base = v
        delta = base - dt.datetime(1970, 1, 1, tzinfo=UTC)
        micros = delta.days * USECS_PER_DAY + delta.seconds * USECS_PER_SEC + delta.microseconds
        return (Decimal(micros) / Decimal(USECS_PER_SEC)).quantize(Decimal("0.000001"))
    simple = {"year": v.year, "month": v.month, "day": v.day, "hour": v.hour,
              "minute": v.minute, "dow": (v.weekday() + 1) % 7, "isodow": v.isoweekday(),
              "doy": v.timetuple().tm_yday, "quarter": (v.month - 1) // 3 + 1,
              "week": v.isocalendar()[1], "isoyear": v.isocalendar()[0],
              "decade": v.year // 10, "century": (v.year + 99) // 100,
              "millennium": (v.year + 999) // 1000}
    if f in simple:
        return Decimal(simple[f])
    secs = Decimal(v.second * USECS_PER_SEC + v.microsecond)
    if f == "second":
        return (secs / USECS_PER_SEC).quantize(Decimal("0.000001"))
    if f == "milliseconds":
        return (secs / 1000).quantize(Decimal("0.001"))
    if f == "microseconds":
        return secs
    if f == "julian":
        return Decimal(v.toordinal() + 1721425) + Decimal(
            (v.hour * 3600 + v.minute * 60 + v.second) * USECS_PER_SEC + v.microsecond) / \
            Decimal(USECS_PER_DAY)
    if f in ("timezone", "timezone_hour", "timezone_minute") and v.tzinfo is not None:
        off = int(v.utcoffset().total_seconds())  # type: ignore[union-attr]
        return Decimal({"timezone": off, "timezone_hour": off // 3600,
                        "timezone_minute": (off // 60) % 60}[f])
    # PostgreSQL: a unit it knows but this type lacks is 0A000; an unknown one 22023
    if f in _KNOWN_FIELDS:
        raise errors.FeatureNotSupported(f'unit "{field}" not supported for type {kind}')
    raise errors.InvalidParameterValue(f'unit "{field}" not recognized for type {kind}')


_KNOWN_FIELDS = {"year", "month", "day", "hour", "minute", "second", "epoch", "dow", "doy",
                 "quarter", "week", "decade", "century", "millennium", "milliseconds",
                 "microseconds", "isodow", "isoyear", "julian", "timezone", "timezone_hour",
                 "timezone_minute"}


@func("extract", (T.TEXT, TSTZ), T.NUMERIC, needs_ctx=True)
def _extract_tstz(ctx: Any, field: str, v: dt.datetime) -> Decimal:
    if _field(field) == "epoch":
        return _extract_ts(field, v, "timestamp with time zone")
    return _extract_ts(field, v.astimezone(ctx.tz), "timestamp with time zone")


func("extract", (T.TEXT, TS), T.NUMERIC)(lambda f, v: _extract_ts(f, v, "timestamp without "
                                                                  "time zone"))


@func("extract", (T.TEXT, DATE), T.NUMERIC)
def _extract_date(field: str, v: dt.date) -> Decimal:
    f = _field(field)
    if f in ("hour", "minute", "second", "milliseconds", "microseconds", "timezone"):
        raise errors.FeatureNotSupported(f'unit "{field}" not supported for type date')
    r = _extract_ts(field, dt.datetime(v.year, v.month, v.day), "date")
    return r.to_integral_value() if f == "epoch" else r


@func("extract", (T.TEXT, TIME), T.NUMERIC)
def _extract_time(field: str, v: dt.time) -> Decimal:
    f = _field(field)
    micros = _time_micros(v)
    if f == "hour":
        return Decimal(v.hour)
    if f == "minute":
        return Decimal(v.minute)
    if f in ("second", "milliseconds", "microseconds"):
        return _extract_ts(field, dt.datetime(2000, 1, 1, v.hour, v.minute, v.second,
                                              v.microsecond), "time")
    if f == "epoch":
        return (Decimal(micros) / USECS_PER_SEC).quantize(Decimal("0.000001"))
    raise errors.FeatureNotSupported(f'unit "{field}" not supported for type time without '
                                     "time zone")


@func("extract", (T.TEXT, IV), T.NUMERIC)
def _extract_interval(field: str, v: Interval) -> Decimal:
    f = _field(field)
    years, months = divmod(abs(v.months), 12)
    sign = -1 if v.months < 0 else 1
    micros = v.micros
    if f == "epoch":
        # 1 year = 365.25 days, 1 month = 30 days, as PostgreSQL
        y, mo = int(v.months / 12), v.months - int(v.months / 12) * 12
        whole = y * 31557600 + mo * 2592000 + v.days * 86400
        return (Decimal(whole) + Decimal(micros) / USECS_PER_SEC).quantize(Decimal("0.000001"))
    table = {"year": sign * years, "month": sign * months, "day": v.days,
             "hour": int(micros / 3600 / USECS_PER_SEC),
             "minute": int(micros / 60 / USECS_PER_SEC) % 60 if micros >= 0 else
             -(int(-micros / 60 / USECS_PER_SEC) % 60),
             "decade": sign * years // 10, "century": sign * years // 100,
             "millennium": sign * years // 1000, "quarter": sign * months // 3 + 1}
    if f in table:
        return Decimal(table[f])
    secs = micros % (60 * USECS_PER_SEC) if micros >= 0 else -((-micros) % (60 * USECS_PER_SEC))
    if f == "second":
        return (Decimal(secs) / USECS_PER_SEC).quantize(Decimal("0.000001"))
    if f == "milliseconds":
        return (Decimal(secs) / 1000).quantize(Decimal("0.001"))
    if f == "microseconds":
        return Decimal(secs)
    if f in _KNOWN_FIELDS:
        raise errors.FeatureNotSupported(f'unit "{field}" not supported for type interval')
    raise errors.InvalidParameterValue(f'unit "{field}" not recognized for type interval')


func("date_part", (T.TEXT, TS), T.FLOAT8)(lambda f, v: float(_extract_ts(f, v, "timestamp")))
func("date_part", (T.TEXT, TSTZ), T.FLOAT8, needs_ctx=True)(
    lambda ctx, f, v: float(_extract_tstz(ctx, f, v)))
func("date_part", (T.TEXT, DATE), T.FLOAT8)(
    lambda f, v: float(_extract_ts(f, dt.datetime(v.year, v.month, v.day), "date")))
func("date_part", (T.TEXT, IV), T.FLOAT8)(lambda f, v: float(_extract_interval(f, v)))
func("date_part", (T.TEXT, TIME), T.FLOAT8)(lambda f, v: float(_extract_time(f, v)))


# --- date_trunc -------------------------------------------------------------------------------------

def _trunc(unit: str, v: dt.datetime) -> dt.datetime:
    u = _field(unit)
    if u == "microseconds":
        return v
    if u == "milliseconds":
        return v.replace(microsecond=v.microsecond // 1000 * 1000)
    if u == "second":
        return v.replace(microsecond=0)
    if u == "minute":
        return v.replace(second=0, microsecond=0)
    if u == "hour":
        return v.replace(minute=0, second=0, microsecond=0)
    if u == "day":
        return v.replace(hour=0, minute=0, second=0, microsecond=0)
    if u == "week":
        d = v - dt.timedelta(days=v.weekday())
        return d.replace(hour=0, minute=0, second=0, microsecond=0)
    if u == "month":
        return v.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if u == "quarter":
        return v.replace(month=(v.month - 1) // 3 * 3 + 1, day=1, hour=0, minute=0, second=0,
                         microsecond=0)
    if u == "year":
        return v.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if u == "decade":
        return v.replace(year=v.year // 10 * 10, month=1, day=1, hour=0, minute=0, second=0,
                         microsecond=0)
    if u == "century":
        return v.replace(year=(v.year - 1) // 100 * 100 + 1, month=1, day=1, hour=0, minute=0,
                         second=0, microsecond=0)
    if u == "millennium":
        return v.replace(year=(v.year - 1) // 1000 * 1000 + 1, month=1, day=1, hour=0,
                         minute=0, second=0, microsecond=0)
    if u in _KNOWN_FIELDS:
        raise errors.FeatureNotSupported(
            f'unit "{unit}" not supported for type timestamp without time zone')
    raise errors.InvalidParameterValue(
        f'unit "{unit}" not recognized for type timestamp without time zone')


func("date_trunc", (T.TEXT, TS), TS)(_trunc)


def _trunc_in_zone(unit: str, v: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """date_trunc of a timestamptz in a zone. Below a day the value keeps its
    UTC offset; from a day up the zone decides the offset of the result (so
    truncating inside a repeated hour stays on the same side of it)."""
    aware = v.astimezone(tz)
    if type(tz) is dt.timezone:
        # a fixed offset (UTC): truncating the clock keeps the offset
        return _trunc(unit, aware).astimezone(UTC)
    local = _trunc(unit, aware.replace(tzinfo=None))
    if _field(unit) in ("hour", "minute", "second", "milliseconds", "microseconds"):
        return (local - aware.utcoffset()).replace(tzinfo=UTC)  # type: ignore[operator]
    return localize(local, tz).astimezone(UTC)


@func("date_trunc", (T.TEXT, TSTZ), TSTZ, needs_ctx=True)
def _trunc_tstz(ctx: Any, unit: str, v: dt.datetime) -> dt.datetime:
    return _trunc_in_zone(unit, v, ctx.tz)


@func("date_trunc", (T.TEXT, TSTZ, T.TEXT), TSTZ)
def _trunc_tstz_zone(unit: str, v: dt.datetime, zone: str) -> dt.datetime:
    return _trunc_in_zone(unit, v, get_timezone(zone))


@func("date_trunc", (T.TEXT, IV), IV)
def _trunc_interval(unit: str, v: Interval) -> Interval:
    u = _field(unit)
    if u == "year":
        return Interval(v.months // 12 * 12 if v.months >= 0 else -((-v.months) // 12 * 12))
    if u == "month":
        return Interval(v.months)
    if u == "day":
        return Interval(v.months, v.days)
    unit_us = {"hour": 3600 * USECS_PER_SEC, "minute": 60 * USECS_PER_SEC,
               "second": USECS_PER_SEC, "milliseconds": 1000, "microseconds": 1}.get(u)
    if unit_us is None:
        if u in _KNOWN_FIELDS:
            raise errors.FeatureNotSupported(f'unit "{unit}" not supported for type interval')
        raise errors.InvalidParameterValue(f'unit "{unit}" not recognized for type interval')
    return Interval(v.months, v.days, int(v.micros / unit_us) * unit_us)


@func("date_bin", (IV, TS, TS), TS)
def _date_bin(stride: Interval, source: dt.datetime, origin: dt.datetime) -> dt.datetime:
    if stride.months:
        raise errors.FeatureNotSupported("timestamps cannot be binned into intervals "
                                         "containing months or years")
    step = stride.days * USECS_PER_DAY + stride.micros
    if step <= 0:
        raise errors.InvalidParameterValue("stride must be greater than zero")
    delta = ts_diff(source, origin)
    d = delta.days * USECS_PER_DAY + delta.micros
    return origin + dt.timedelta(microseconds=(d // step) * step)


func("date_bin", (IV, TSTZ, TSTZ), TSTZ)(_date_bin)


# --- constructors and conversions -----------------------------------------------------------------------

@func("make_date", (T.INT4, T.INT4, T.INT4), DATE)
def _make_date(y: int, m: int, d: int) -> dt.date:
    try:
        return dt.date(y, m, d)
    except ValueError:
        raise errors.DatetimeFieldOverflow(
            f"date field value out of range: {y}-{m:02d}-{d:02d}") from None


@func("make_time", (T.INT4, T.INT4, T.FLOAT8), TIME)
def _make_time(h: int, m: int, s: float) -> dt.time:
    try:
        return dt.time(h, m, int(s), round((s - int(s)) * USECS_PER_SEC))
    except ValueError:
        raise errors.DatetimeFieldOverflow("time field value out of range") from None


@func("make_timestamp", (T.INT4, T.INT4, T.INT4, T.INT4, T.INT4, T.FLOAT8), TS)
def _make_timestamp(y: int, mo: int, d: int, h: int, mi: int, s: float) -> dt.datetime:
    try:
        return dt.datetime(y, mo, d, h, mi, int(s), round((s - int(s)) * USECS_PER_SEC))
    except ValueError:
        raise errors.DatetimeFieldOverflow("date field value out of range") from None


@func("make_timestamptz", (T.INT4, T.INT4, T.INT4, T.INT4, T.INT4, T.FLOAT8), TSTZ,
      needs_ctx=True)
def _make_timestamptz(ctx: Any, y: int, mo: int, d: int, h: int, mi: int,
                      s: float) -> dt.datetime:
    return localize(_make_timestamp(y, mo, d, h, mi, s), ctx.tz).astimezone(UTC)


@func("make_timestamptz", (T.INT4, T.INT4, T.INT4, T.INT4, T.INT4, T.FLOAT8, T.TEXT), TSTZ)
def _make_timestamptz_zone(y: int, mo: int, d: int, h: int, mi: int, s: float,
                           zone: str) -> dt.datetime:
    return localize(_make_timestamp(y, mo, d, h, mi, s), get_timezone(zone)).astimezone(UTC)


@func("make_interval", (T.INT4, T.INT4, T.INT4, T.INT4, T.INT4, T.INT4, T.FLOAT8), IV)
def _make_interval(years: int = 0, months: int = 0, weeks: int = 0, days: int = 0,
                   hours: int = 0, mins: int = 0, secs: float = 0.0) -> Interval:
    return Interval(years * 12 + months, weeks * 7 + days,
                    round(((hours * 60 + mins) * 60 + secs) * USECS_PER_SEC))


@func("to_timestamp", (T.FLOAT8,), TSTZ)
def _to_timestamp_epoch(secs: float) -> dt.datetime:
    try:
        return dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(
            microseconds=round(secs * USECS_PER_SEC))
    except OverflowError:
        raise _range_error() from None


@func("timezone", (T.TEXT, TSTZ), TS)
def _tz_of_tstz(zone: str, v: dt.datetime) -> dt.datetime:
    return v.astimezone(get_timezone(zone)).replace(tzinfo=None)


@func("timezone", (T.TEXT, TS), TSTZ)
def _tz_of_ts(zone: str, v: dt.datetime) -> dt.datetime:
    return localize(v, get_timezone(zone)).astimezone(UTC)


@func("age", (TS, TS), IV)
def age(a: dt.datetime, b: dt.datetime) -> Interval:
    """Symbolic difference: years/months/days, then time, as PostgreSQL."""
    sign = 1
    if a < b:
        a, b = b, a
        sign = -1
    months = (a.year - b.year) * 12 + (a.month - b.month)
    days = a.day - b.day
    time_a = _time_micros(a.time())
    time_b = _time_micros(b.time())
    micros = time_a - time_b
    if micros < 0:
        micros += USECS_PER_DAY
        days -= 1
    while days < 0:
        # PostgreSQL borrows the length of the earlier timestamp's month
        months -= 1
        days += calendar.monthrange(b.year, b.month)[1]
    iv = Interval(months, days, micros)
    return iv if sign > 0 else -iv


func("age", (TSTZ, TSTZ), IV, needs_ctx=True)(
    lambda ctx, a, b: age(a.astimezone(ctx.tz).replace(tzinfo=None),
                          b.astimezone(ctx.tz).replace(tzinfo=None)))


@func("age", (TSTZ,), IV, needs_ctx=True)
def _age_now(ctx: Any, v: dt.datetime) -> Interval:
    today = ctx.transaction_time.astimezone(ctx.tz).replace(hour=0, minute=0, second=0,
                                                             microsecond=0, tzinfo=None)
    return age(today, v.astimezone(ctx.tz).replace(tzinfo=None))


def _justify(v: Interval, hours: bool, days: bool) -> Interval:
    """justify_hours / justify_days / justify_interval (both): carry 24 h into
    days and 30 days into months, truncating toward zero, then borrow so that
    no two parts have opposite signs."""
    months, d, micros = v.months, v.days, v.micros
    if hours:
        whole = int(micros / USECS_PER_DAY)
        d += whole
        micros -= whole * USECS_PER_DAY
    if days:
        whole = int(d / 30)
        months += whole
        d -= whole * 30
        if months > 0 and (d < 0 or (hours and d == 0 and micros < 0)):
            d += 30
            months -= 1
        elif months < 0 and (d > 0 or (hours and d == 0 and micros > 0)):
            d -= 30
            months += 1
    if hours:
        if d > 0 and micros < 0:
            micros += USECS_PER_DAY
            d -= 1
        elif d < 0 and micros > 0:
            micros -= USECS_PER_DAY
            d += 1
    return Interval(months, d, micros)


func("justify_days", (IV,), IV)(lambda v: _justify(v, False, True))
func("justify_hours", (IV,), IV)(lambda v: _justify(v, True, False))
func("justify_interval", (IV,), IV)(lambda v: _justify(v, True, True))
func("isfinite", (TS,), T.BOOL)(lambda v: True)
func("isfinite", (DATE,), T.BOOL)(lambda v: True)
func("isfinite", (IV,), T.BOOL)(lambda v: True)


def overlaps(s1: Any, e1: Any, s2: Any, e2: Any) -> bool | None:
    """SQL OVERLAPS over half-open periods [start, end), either endpoint order,
    with the standard's answers when some endpoints are NULL."""
    if s1 is None:
        if e1 is None:
            return None
        s1, e1 = e1, None
    elif e1 is not None and s1 > e1:
        s1, e1 = e1, s1
    if s2 is None:
        if e2 is None:
            return None
        s2, e2 = e2, None
    elif e2 is not None and s2 > e2:
        s2, e2 = e2, s2
    if s1 == s2:
        return None if e1 is None or e2 is None else True
    if s1 > s2:        # period 1 starts inside period 2 unless 2 ends first
        s1, e1, s2, e2 = s2, e2, s1, e1
    if e1 is None:
        return None
    if s2 < e1:
        return True
    return None if e2 is None else False
