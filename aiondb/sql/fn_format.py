"""to_char, to_date and to_timestamp(text, format): PostgreSQL's template
patterns for date/time values (YYYY, MM, DD, HH24, Mon, Day, FM, TH ...)
and for numbers (9, 0, ., D, ',', G, S, MI, PL, SG, PR, FM, TH, RN, V,
EEEE, L, B). The number formatter follows PostgreSQL's algorithm closely,
quirks included (a sign slot before the first digit, '#' when the digits
do not fit, FM trimming trailing zeros only at '9' positions)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from aiondb import errors
from aiondb import types as T
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


# --- numbers --------------------------------------------------------------------------------------

_NUM_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|\\.|FM|fm|EEEE|eeee|MI|mi|PL|pl|SG|sg|PR|pr|RN|rn|TH|th|'
                         r"[90.DdGgSsVvLlBb,]|.", re.S)


@dataclass
class _NumFormat:
    items: list[tuple[str, str]]     # (token kind, literal text)
    pre: int = 0                     # digit positions before the decimal point
    post: int = 0                    # ... after it
    decimal: bool = False
    zero_start: int = 0              # 1-based position of the first leading '0'
    zero_end: int = 0
    fill: bool = False               # FM
    bracket: bool = False            # PR
    minus: bool = False              # MI / SG
    plus: bool = False               # PL / SG
    lsign: str = ""                  # S: "pre" or "post"
    roman: bool = False
    multi: int = 0                   # V: digits the value is shifted by
    eeee: bool = False


def _parse_num_format(fmt: str) -> _NumFormat:
    f = _NumFormat([])
    seen_v = False
    for m in _NUM_TOKENS.finditer(fmt):
        tok = m.group(0)
        up = tok.upper()
        if tok.startswith('"'):
            f.items.append(("lit", re.sub(r"\\(.)", r"\1", tok[1:-1])))
            continue
        if tok.startswith("\\"):
            f.items.append(("lit", tok[1:]))
            continue
        if up in ("9", "0"):
            if f.bracket:
                raise errors.SyntaxError('"9" must be ahead of "PR"')
            if tok == "0" and not f.zero_start and not f.decimal:
                f.zero_start = f.pre + 1
            if f.decimal:
                f.post += 1
            else:
                f.pre += 1
            if seen_v:
                f.multi += 1
            if tok == "0":
                f.zero_end = f.pre + f.post
            f.items.append(("digit", tok))
        elif up in (".", "D"):
            if f.decimal:
                raise errors.SyntaxError("multiple decimal points")
            if seen_v:
                raise errors.SyntaxError('cannot use "V" and decimal point together')
            f.decimal = True
            f.items.append(("point", "."))
        elif up in (",", "G"):
            f.items.append(("comma", ","))
        elif up == "FM":
            f.fill = True
        elif up == "S":
            if f.lsign:
                raise errors.SyntaxError('cannot use "S" twice')
            f.lsign = "pre" if f.pre == 0 and f.post == 0 and not f.zero_start else "post"
            f.items.append(("S", ""))
        elif up == "MI":
            f.minus = True
            f.items.append(("MI", ""))
        elif up == "PL":
            f.plus = True
            f.items.append(("PL", ""))
        elif up == "SG":
            f.minus = f.plus = True
            f.items.append(("SG", ""))
        elif up == "PR":
            f.bracket = True
        elif up == "RN":
            f.roman = True
            f.items.append(("RN", tok))
        elif up == "TH":
            f.items.append(("TH", tok))
        elif up == "V":
            if f.decimal:
                raise errors.SyntaxError('cannot use "V" and decimal point together')
            seen_v = True
        elif up == "EEEE":
            f.eeee = True
            f.items.append(("EEEE", ""))
        elif up == "L":
            f.items.append(("lit", " "))     # the C locale has no currency symbol
        elif up == "B":
            pass
        else:
            f.items.append(("lit", tok))
    if f.eeee and (f.fill or f.lsign or f.minus or f.plus or f.bracket or f.multi or f.roman or
                   any(kind in ("comma", "TH") for kind, _ in f.items)):
        raise errors.SyntaxError('"EEEE" is incompatible with other formats',
                                 detail='"EEEE" may only be used together with digit and '
                                        "decimal point patterns.")
    return f


_ROMAN = ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"),
          (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))


def _roman(n: int) -> str:
    out = []
    for value, letters in _ROMAN:
        while n >= value:
            out.append(letters)
            n -= value
    return "".join(out)


def _ordinal_suffix(digits: str, upper: bool) -> str:
    n = int(digits) if digits.isdigit() else 0
    if n % 100 in (11, 12, 13):
        s = "th"
    else:
        s = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return s.upper() if upper else s


def _sci(v: Decimal, post: int, fill: bool) -> str:
    """EEEE: d.ddde+XX, the exponent taken from the unrounded value."""
    if not v.is_finite():
        return " " + ("#" * (post + 6))
    sign = "-" if v < 0 else ("" if fill else " ")
    a = abs(v)
    exp = 0 if a == 0 else a.adjusted()
    mant = (a.scaleb(-exp)).quantize(Decimal(1).scaleb(-post), rounding=ROUND_HALF_UP)
    return f"{sign}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


def to_char_number(v: Decimal, fmt: str) -> str:
    """to_char(number, format)."""
    f = _parse_num_format(fmt)
    special = _special_forms(f, v)
    if special is not None:
        return special
    with localcontext() as c:
        c.prec = max(60, len(v.as_tuple().digits) + f.multi + f.post + 5)
        if f.multi:
            v = v.scaleb(f.multi)
        rounded = v.quantize(Decimal(1).scaleb(-f.post), rounding=ROUND_HALF_UP)
    return _layout(f, format(abs(rounded), "f"), rounded < 0)


def _special_forms(f: _NumFormat, v: Decimal) -> str | None:
    """RN, EEEE and non-finite values, which skip the digit layout."""
    if f.roman:
        n = int(v.quantize(Decimal(1), rounding=ROUND_HALF_UP)) if v.is_finite() else 0
        text = _roman(n) if 1 <= n <= 3999 else "#" * 15
        text = text if f.fill or not (1 <= n <= 3999) else text.rjust(15)
        lower = any(kind == "RN" and lit == "rn" for kind, lit in f.items)
        return text.lower() if lower else text
    if f.eeee:
        return _sci(v, f.post, f.fill)
    if not v.is_finite():
        return " " + "#" * (f.pre + f.post + (1 if f.decimal else 0))
    return None


def _layout(f: _NumFormat, digits: str, negative: bool) -> str:
    """Lay out an unsigned digit string ('12.30') along the format."""
    int_len = len(digits.split(".")[0])
    out_pre_spaces = 0
    if int_len < f.pre:
        out_pre_spaces = f.pre - int_len
    elif int_len > f.pre:
        digits = "#" * f.pre + "." + "#" * f.post
    return _NumWriter(f, digits, "-" if negative else "+", out_pre_spaces).run()


class _NumWriter:
    """Lays a number string out along a parsed format (PostgreSQL's
    NUM_processor for to_char)."""

    def __init__(self, f: _NumFormat, number: str, sign: str, out_pre_spaces: int) -> None:
        self.f = f
        self.number = number
        self.sign = sign
        self.pre_spaces = out_pre_spaces
        self.pos = 0                  # next character of `number`
        self.cur = 0                  # digit/decimal positions processed
        self.num_in = False           # a digit has been written
        self.out: list[str] = []
        self.zero_start = f.zero_start - 1 if f.zero_start else -1
        if f.plus or f.minus:
            self.sign_wrote = not (f.plus and not f.minus)
        else:
            if sign != "-" and f.fill:
                f.bracket = False
            self.sign_wrote = sign == "+" and f.fill and not f.lsign
        self.count = f.pre + f.post - 1
        self.last_relevant = -1
        if f.fill and f.decimal:
            self.last_relevant = self._last_relevant()
            if self.last_relevant >= 0 and f.zero_end > self.pre_spaces:
                last_zero = min(len(number) - 1, f.zero_end - self.pre_spaces)
                self.last_relevant = max(self.last_relevant, last_zero)
        if not self.sign_wrote and self.pre_spaces == 0:
            self.count += 1

    def _last_relevant(self) -> int:
        """Index of the last significant character after the decimal point
        (the point itself when only zeros follow it)."""
        dot = self.number.find(".")
        if dot < 0:
            return -1
        i = len(self.number) - 1
        while i > dot and self.number[i] == "0":
            i -= 1
        return i

    def _predec_space(self) -> bool:
        # '0.1' with 9.9 → '  .1': a lone leading zero is not printed
        return not self.f.zero_start and self.pos == 0 and self.number[:1] == "0" and \
            self.f.post != 0

    def _write_sign(self) -> None:
        f = self.f
        if f.lsign:
            if f.lsign == "pre":
                self.out.append(self.sign)
                self.sign_wrote = True
        elif f.bracket:
            self.out.append(" " if self.sign == "+" else "<")
            self.sign_wrote = True
        elif self.sign == "+":
            if not f.fill:
                self.out.append(" ")
            self.sign_wrote = True
        else:
            self.out.append("-")
            self.sign_wrote = True

    def digit(self, kind: str) -> None:
        f = self.f
        lr = self.last_relevant
        if not self.sign_wrote and (self.cur >= self.pre_spaces or
                                    (f.zero_start and self.zero_start == self.cur)) and \
                (not self._predec_space() or (lr >= 0 and self.number[lr] == ".")):
            self._write_sign()
        if self.cur < self.pre_spaces and (self.zero_start > self.cur or not f.zero_start):
            if not f.fill:
                self.out.append(" ")
        elif f.zero_start and self.cur < self.pre_spaces and self.zero_start <= self.cur:
            self.out.append("0")
            self.num_in = True
        else:
            ch = self.number[self.pos] if self.pos < len(self.number) else ""
            if ch == ".":
                if lr < 0 or self.number[lr] != "." or f.fill:
                    self.out.append(".")
            elif lr >= 0 and self.pos > lr and kind != "0":
                pass
            elif self._predec_space():
                if not f.fill:
                    self.out.append(" ")
                elif lr >= 0 and self.number[lr] == ".":
                    self.out.append("0")
            else:
                self.out.append(ch)
                self.num_in = True
            if self.pos < len(self.number):
                self.pos += 1
        end = self.count + (1 if self.pre_spaces else 0) + (1 if f.decimal else 0)
        if lr >= 0 and lr == self.pos:
            end = self.cur
        if self.cur + 1 == end:
            if self.sign_wrote and f.bracket:
                self.out.append(" " if self.sign == "+" else ">")
            elif f.lsign == "post":
                self.out.append(self.sign)
        self.cur += 1

    def run(self) -> str:
        f = self.f
        for kind, lit in f.items:
            if kind in ("digit", "point"):
                self.digit(lit)
            elif kind == "comma":
                if not self.num_in:
                    if not f.fill:
                        self.out.append(" ")
                else:
                    self.out.append(",")
            elif kind == "MI":
                if self.sign == "-":
                    self.out.append("-")
                elif not f.fill:
                    self.out.append(" ")
            elif kind == "PL":
                if self.sign == "+":
                    self.out.append("+")
                elif not f.fill:
                    self.out.append(" ")
            elif kind == "SG":
                self.out.append(self.sign)
            elif kind == "TH":
                if self.number.startswith("#") or self.sign == "-" or f.decimal:
                    continue
                self.out.append(_ordinal_suffix(self.number, lit == "TH"))
            elif kind == "lit":
                self.out.append(lit)
        return "".join(self.out)


func("to_char", (T.NUMERIC, T.TEXT), T.TEXT)(to_char_number)
func("to_char", (T.INT8, T.TEXT), T.TEXT)(lambda v, f: to_char_number(Decimal(v), f))
func("to_char", (T.INT4, T.TEXT), T.TEXT)(lambda v, f: to_char_number(Decimal(v), f))


def _float_to_char(v: float, fmt: str) -> str:
    """float8: at most 15 significant digits, rounded as C's printf rounds
    the binary value (PostgreSQL's float8_to_char)."""
    f = _parse_num_format(fmt)
    if v != v or v in (float("inf"), float("-inf")) or f.roman or f.eeee:
        special = _special_forms(f, Decimal(repr(v)) if v == v and abs(v) != float("inf")
                                 else Decimal("NaN"))
        assert special is not None
        return special
    if f.multi:
        v = v * 10 ** f.multi
    int_digits = len(f"{abs(v):.0f}")
    post = 0 if int_digits >= 15 else min(f.post, 15 - int_digits)
    text = f"{abs(v):.{post}f}"
    if post < f.post:
        text += ("" if post else ".") + "0" * (f.post - post)
    negative = v < 0 and float(text) != 0
    return _layout(f, text, negative)


func("to_char", (T.FLOAT8, T.TEXT), T.TEXT)(_float_to_char)


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
