"""to_char, to_date and to_timestamp(text, format): PostgreSQL's template
patterns for date/time values (YYYY, MM, DD, HH24, Mon, Day, FM, TH ...)
and for numbers (9, 0, ., D, ',', G, S, MI, PL, SG, PR, FM, TH, RN, V,
EEEE, L, B; those live in fn_numformat)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql.fn_numformat import _ordinal_suffix
from aiondb.sql.functions import func
from aiondb.sql.textio import UTC
from aiondb.values import USECS_PER_SEC, Interval

DATE, TS, TSTZ, IV = T.DATE, T.TIMESTAMP, T.TIMESTAMPTZ, T.INTERVAL


# --- date/time --------------------------------------------------------------------------------


_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_ROMAN_MONTHS = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]
# longest first; matched case-insensitively except where case picks the output's case
_DT_KEYWORDS = (
    "A.D.", "A.M.", "B.C.", "P.M.", "Y,YYY", "HH24", "HH12", "IDDD", "IYYY", "MONTH", "SSSSS",
    "SSSS", "YYYY", "DAY", "DDD", "FF1", "FF2", "FF3", "FF4", "FF5", "FF6", "IYY", "MON",
    "TZH", "TZM", "YYY", "AD", "AM", "BC", "CC", "DD", "DY", "FM", "FX", "HH", "ID", "IW",
    "IY", "MI", "MM", "MS", "OF", "PM", "Q", "RM", "SS", "TH", "TM", "TZ", "US", "WW", "YY",
    "D", "I", "J", "W", "Y")
_DT_TOKEN = re.compile('"(?:[^"\\\\]|\\\\.)*"|\\\\.|' + "|".join(re.escape(k) for k in _DT_KEYWORDS) +
                       "|.", re.S | re.I)
_NUMERIC_FIELDS = frozenset(("HH24", "HH12", "HH", "MI", "SS", "MS", "US", "SSSS", "SSSSS",
                             "YYYY", "YYY", "YY", "Y", "IYYY", "IYY", "IY", "I", "DDD", "IDDD",
                             "DD", "D", "ID", "W", "WW", "IW", "CC", "J", "Q", "MM", "Y,YYY"))


def _cased(name: str, tok: str) -> str:
    """MONTH → JANUARY, Month → January, month → january (likewise DAY, MON ...)."""
    if tok.isupper():
        return name.upper()
    if tok[0].isupper():
        return name
    return name.lower()


def format_datetime(v: dt.datetime, fmt: str, tz: dt.tzinfo | None = None,
                    interval: Interval | None = None) -> str:
    """to_char of a timestamp (v in local time; tz for TZ/OF when it has one)
    or, with `interval`, of an interval (hours may exceed 23)."""
    out: list[str] = []
    fill = False
    toks = [m.group(0) for m in _DT_TOKEN.finditer(fmt)]
    i = 0
    while i < len(toks):
        tok = toks[i]
        i += 1
        up = tok.upper()
        if tok.startswith('"'):
            out.append(re.sub(r"\\(.)", r"\1", tok[1:-1]))
            continue
        if tok.startswith("\\") and len(tok) == 2:
            out.append(tok[1])
            continue
        if up == "FM":
            fill = True
            continue
        if up in ("FX", "TM"):
            continue
        if len(tok) == 1 and up not in _DT_KEYWORDS:
            out.append(tok)
            fill = False
            continue
        text = _dt_field(v, up, tok, fill, tz, interval)
        if i < len(toks) and toks[i].upper() == "TH" and up in _NUMERIC_FIELDS:
            digits = text.strip().lstrip("-").replace(",", "")
            text += _ordinal_suffix(digits, toks[i] == "TH")
            i += 1
        out.append(text)
        fill = False
    return "".join(out)


def _dt_field(v: dt.datetime, up: str, tok: str, fill: bool, tz: dt.tzinfo | None,
              interval: Interval | None) -> str:
    def num(n: int, width: int) -> str:
        if n < 0:
            return "-" + (str(-n) if fill else str(-n).zfill(width))
        return str(n) if fill else str(n).zfill(width)
    hour = v.hour
    if interval is not None:
        hour = int(interval.micros / 3_600_000_000)
    if up == "HH24":
        return num(hour, 2)
    if up in ("HH12", "HH"):
        return num((hour % 12) or 12, 2)
    if up == "MI":
        return num(v.minute, 2)
    if up == "SS":
        return num(v.second, 2)
    if up == "MS":
        return num(v.microsecond // 1000, 3)
    if up == "US":
        return num(v.microsecond, 6)
    if up.startswith("FF"):
        n = int(up[2])
        return str(v.microsecond).zfill(6)[:n]
    if up in ("SSSS", "SSSSS"):
        return str(hour * 3600 + v.minute * 60 + v.second)
    if up in ("AM", "PM", "A.M.", "P.M."):
        text = ("AM" if hour % 24 < 12 else "PM") if len(up) == 2 else \
            ("A.M." if hour % 24 < 12 else "P.M.")
        return text if tok[0].isupper() else text.lower()
    if up in ("AD", "BC", "A.D.", "B.C."):
        text = "AD" if len(up) == 2 else "A.D."
        return text if tok[0].isupper() else text.lower()
    if up == "Y,YYY":
        return f"{v.year // 1000},{v.year % 1000:03d}"
    if up == "YYYY":
        return num(v.year, 4)
    if up == "YYY":
        return num(v.year % 1000, 3)
    if up == "YY":
        return num(v.year % 100, 2)
    if up == "Y":
        return str(v.year % 10)
    iso_year, iso_week, iso_day = v.isocalendar()
    if up == "IYYY":
        return num(iso_year, 4)
    if up == "IYY":
        return num(iso_year % 1000, 3)
    if up == "IY":
        return num(iso_year % 100, 2)
    if up == "I":
        return str(iso_year % 10)
    if up == "MONTH":
        name = _cased(_MONTHS[v.month - 1], tok)
        return name if fill else name.ljust(9)
    if up == "MON":
        return _cased(_MONTHS[v.month - 1][:3], tok)
    if up == "MM":
        return num(v.month if interval is None else interval.months % 12, 2)
    if up == "RM":
        r = _ROMAN_MONTHS[v.month - 1]
        r = r if tok[0].isupper() else r.lower()
        return r if fill else r.ljust(4)
    if up == "DAY":
        name = _cased(_DAYS[v.weekday()], tok)
        return name if fill else name.ljust(9)
    if up == "DY":
        return _cased(_DAYS[v.weekday()][:3], tok)
    if up == "DDD":
        return num(v.timetuple().tm_yday, 3)
    if up == "IDDD":
        return num((iso_week - 1) * 7 + iso_day, 3)
    if up == "DD":
        return num(v.day if interval is None else interval.days, 2)
    if up == "D":
        return str((v.weekday() + 1) % 7 + 1)
    if up == "ID":
        return str(iso_day)
    if up == "W":
        return str((v.day - 1) // 7 + 1)
    if up == "WW":
        return num((v.timetuple().tm_yday - 1) // 7 + 1, 2)
    if up == "IW":
        return num(iso_week, 2)
    if up == "CC":
        return num((v.year - 1) // 100 + 1 if v.year > 0 else v.year // 100 - 1, 2)
    if up == "J":
        return str(v.toordinal() + 1721425)
    if up == "Q":
        return str((v.month - 1) // 3 + 1)
    if up in ("TZ", "TZH", "TZM", "OF"):
        if tz is None:
            return ""
        aware = v.replace(tzinfo=tz)
        off = int(aware.utcoffset().total_seconds())  # type: ignore[union-attr]
        sign = "-" if off < 0 else "+"
        hh, mm = divmod(abs(off) // 60, 60)
        if up == "TZ":
            name = aware.tzname() or ""
            if name[:1] in "+-":       # a zone without an abbreviation prints its offset
                name = f"{sign}{hh:02d}" + (f":{mm:02d}" if mm else "")
            return name if tok.isupper() else name.lower()
        if up == "TZH":
            return f"{sign}{hh:02d}"
        if up == "TZM":
            return f"{mm:02d}"
        return f"{sign}{hh:02d}" + (f":{mm:02d}" if mm else "")
    return tok


func("to_char", (TS, T.TEXT), T.TEXT)(lambda v, f: format_datetime(v, f))


@func("to_char", (TSTZ, T.TEXT), T.TEXT, needs_ctx=True)
def _to_char_tstz(ctx: Any, v: dt.datetime, fmt: str) -> str:
    local = v.astimezone(ctx.tz)
    return format_datetime(local.replace(tzinfo=None), fmt, ctx.tz)


func("to_char", (DATE, T.TEXT), T.TEXT)(
    lambda v, f: format_datetime(dt.datetime(v.year, v.month, v.day), f))


@func("to_char", (IV, T.TEXT), T.TEXT)
def _to_char_interval(v: Interval, fmt: str) -> str:
    micros = v.micros % 3_600_000_000 if v.micros >= 0 else -((-v.micros) % 3_600_000_000)
    secs, us = divmod(abs(micros), USECS_PER_SEC)
    base = dt.datetime(2000, 1, 1, 0, secs // 60, secs % 60, us)
    base = base.replace(year=max(1, v.months // 12) if v.months // 12 > 0 else 1)
    text = format_datetime(base, fmt, interval=v)
    return text


# --- text to date/time ----------------------------------------------------------------------------

_FIELD_WIDTH = {"YYYY": 4, "YYY": 3, "YY": 2, "Y": 1, "IYYY": 4, "MM": 2, "DD": 2, "DDD": 3,
                "HH24": 2, "HH12": 2, "HH": 2, "MI": 2, "SS": 2, "MS": 3, "US": 6, "D": 1,
                "ID": 1, "CC": 2, "Q": 1, "WW": 2, "IW": 2, "W": 1, "SSSS": 5, "SSSSS": 5,
                "TZH": 3, "TZM": 2, "FF1": 1, "FF2": 2, "FF3": 3, "FF4": 4, "FF5": 5, "FF6": 6}


def _parse_with_format(text: str, fmt: str) -> tuple[dt.datetime, int | None]:
    """to_date / to_timestamp(text, format): (local date-time, UTC offset in
    seconds when the text gave one). Separators in the format match any
    run of separators in the text, as PostgreSQL does outside FX mode."""
    toks = [m.group(0) for m in _DT_TOKEN.finditer(fmt)]
    vals = {"year": None, "month": 1, "day": 1, "hour": 0, "minute": 0, "second": 0, "us": 0}
    pm: bool | None = None
    tzh = tzm = None
    pos = 0
    n = len(text)

    def bad(what: str) -> errors.DatabaseError:
        return errors.InvalidDatetimeFormat(f'invalid value "{text[pos:pos + 10]}" for "{what}"',
                                            detail="Value must be an integer."
                                            if what in _FIELD_WIDTH else None)
    for k, tok in enumerate(toks):
        up = tok.upper()
        if up in ("FM", "FX", "TM", "TH"):
            continue
        if tok.startswith('"'):
            pos += len(tok) - 2
            continue
        if len(tok) == 1 and up not in _DT_KEYWORDS:
            if not tok.isalnum():
                # a sign right before an offset field belongs to the offset
                signed = k + 1 < len(toks) and toks[k + 1].upper() in ("TZH", "OF", "TZ")
                while pos < n and not text[pos].isalnum() and \
                        not (signed and text[pos] in "+-"):
                    pos += 1
            else:
                pos += 1
            continue
        while pos < n and text[pos] == " ":
            pos += 1
        if up in _FIELD_WIDTH or up in ("J", "Y,YYY"):
            nxt = toks[k + 1].upper() if k + 1 < len(toks) else ""
            fixed = nxt in _FIELD_WIDTH or nxt in ("MON", "MONTH")
            width = _FIELD_WIDTH.get(up, 10) if fixed else 12
            sign = "[+-]?" if up == "TZH" else ""
            m = re.match(sign + r"\d{1," + str(width) + "}", text[pos:])
            if up == "Y,YYY":
                m = re.match(r"\d{1,3},\d{3}", text[pos:])
            if m is None:
                raise bad(tok)
            pos += m.end()
            value = int(m.group(0).replace(",", ""))
            if up in ("YYYY", "Y,YYY", "IYYY"):
                vals["year"] = value
            elif up in ("YYY", "YY", "Y"):
                digits = len(m.group(0))
                vals["year"] = value + (2000 if value < 70 else 1900) if digits == 2 else \
                    value + (2000 if digits == 1 else (1000 if value >= 100 else 2000))
            elif up == "MM":
                vals["month"] = value
            elif up == "DD":
                vals["day"] = value
            elif up == "DDD":
                vals["doy"] = value
            elif up in ("HH24", "HH12", "HH"):
                vals["hour"] = value
                if up != "HH24" and not 1 <= value <= 12:
                    raise errors.InvalidDatetimeFormat(
                        f'hour "{value}" is invalid for the 12-hour clock',
                        hint="Use the 24-hour clock, or give an hour between 1 and 12.")
            elif up == "MI":
                vals["minute"] = value
            elif up == "SS":
                vals["second"] = value
            elif up == "MS":
                vals["us"] = value * 1000 * (10 ** (3 - len(m.group(0))))
            elif up == "US" or up.startswith("FF"):
                vals["us"] = value * 10 ** (6 - len(m.group(0)))
            elif up == "J":
                d = dt.date.fromordinal(value - 1721425)
                vals["year"], vals["month"], vals["day"] = d.year, d.month, d.day
            elif up == "TZH":
                tzh = value
            elif up == "TZM":
                tzm = value
            continue
        if up in ("MON", "MONTH", "RM"):
            m = re.match(r"[A-Za-z]+", text[pos:])
            word = m.group(0).lower() if m else ""
            names = [x.lower() for x in _MONTHS]
            idx = next((i for i, x in enumerate(names)
                        if (up == "MONTH" and word == x) or word[:3] == x[:3]), None)
            if idx is None:
                raise errors.InvalidDatetimeFormat(
                    f'invalid value "{text[pos:pos + 3]}" for "{tok}"',
                    detail="The given value did not match any of the allowed values for this "
                           "field.")
            vals["month"] = idx + 1
            pos += len(_MONTHS[idx]) if up == "MONTH" and word == names[idx] else 3
            continue
        if up in ("DAY", "DY"):
            m = re.match(r"[A-Za-z]+", text[pos:])
            pos += m.end() if m else 0
            continue
        if up in ("AM", "PM", "A.M.", "P.M."):
            m = re.match(r"([AaPp])\.?[Mm]\.?", text[pos:])
            if m is None:
                raise errors.InvalidDatetimeFormat(f'invalid value "{text[pos:pos + 2]}" for '
                                                   f'"{tok}"')
            pm = m.group(1).lower() == "p"
            pos += m.end()
            continue
        if up in ("OF", "TZ"):
            m = re.match(r"([+-])(\d{1,2})(?::?(\d{2}))?", text[pos:])
            if m is not None:
                tzh = int(m.group(1) + m.group(2))
                tzm = int(m.group(3) or 0)
                pos += m.end()
            continue
        pos += len(tok)
    if pm is not None:
        vals["hour"] = vals["hour"] % 12 + (12 if pm else 0)
    year = vals["year"] if vals["year"] is not None else 1
    try:
        if "doy" in vals:
            base = dt.datetime(year, 1, 1) + dt.timedelta(days=vals["doy"] - 1)
            vals["month"], vals["day"] = base.month, base.day
        when = dt.datetime(year, vals["month"], vals["day"], vals["hour"], vals["minute"],
                           vals["second"], vals["us"])
    except ValueError:
        raise errors.DatetimeFieldOverflow(f'date/time field value out of range: "{text}"'
                                           ) from None
    offset = None
    if tzh is not None:
        offset = tzh * 3600 + (tzm or 0) * 60 * (-1 if tzh < 0 else 1)
    return when, offset


func("to_date", (T.TEXT, T.TEXT), DATE)(lambda t, f: _parse_with_format(t, f)[0].date())


@func("to_timestamp", (T.TEXT, T.TEXT), TSTZ, needs_ctx=True)
def _to_timestamp(ctx: Any, text: str, fmt: str) -> dt.datetime:
    when, offset = _parse_with_format(text, fmt)
    zone = ctx.tz if offset is None else dt.timezone(dt.timedelta(seconds=offset))
    return when.replace(tzinfo=zone).astimezone(UTC)
