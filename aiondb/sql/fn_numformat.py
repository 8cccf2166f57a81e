"""to_char(number, format): PostgreSQL's numeric template patterns (9, 0,
., D, ',', G, S, MI, PL, SG, PR, FM, TH, RN, V, EEEE, L, B). The formatter
follows PostgreSQL's algorithm closely, quirks included (a sign slot before
the first digit, '#' when the digits do not fit, FM trimming trailing zeros
only at '9' positions). Date/time patterns live in fn_format."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from aiondb import errors
from aiondb import types as T
from aiondb.sql.functions import func

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
