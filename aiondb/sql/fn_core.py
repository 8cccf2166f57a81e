"""Core operators and math: comparison, arithmetic (with PostgreSQL's overflow
checks and numeric scale rules), boolean, pattern matching."""

from __future__ import annotations

import math
import operator
import random as _random
import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Context, Decimal
from functools import lru_cache
from typing import Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql.functions import ANYARRAY, func, op

NUM = Context(prec=1000, Emax=999999, Emin=-999999)
_INTS = (T.INT2, T.INT4, T.INT8)
_NUMS = (T.INT2, T.INT4, T.INT8, T.NUMERIC, T.FLOAT4, T.FLOAT8)
_STRS = (T.TEXT, T.VARCHAR, T.NAME)


def division_by_zero() -> errors.DatabaseError:
    return errors.DivisionByZero("division by zero")


# --- comparison ------------------------------------------------------------------------------------

_CMP = {"=": operator.eq, "<>": operator.ne, "!=": operator.ne, "<": operator.lt,
        ">": operator.gt, "<=": operator.le, ">=": operator.ge}


def _register_cmp(left: T.SqlType, right: T.SqlType, fns: dict[str, Any] | None = None) -> None:
    for sym, fn in (fns or _CMP).items():
        op(sym, left, right, T.BOOL)(fn)


def _nan_aware(f: Any) -> Any:
    """PostgreSQL orders NaN above every number and equal to itself
    (x != x is true only for a float or Decimal NaN)."""
    def cmp(a: Any, b: Any) -> Any:
        if a != a or b != b:
            return f((1,) if a != a else (0, a), (1,) if b != b else (0, b))
        return f(a, b)
    return cmp


_NAN_CMP = {s: _nan_aware(f) for s, f in _CMP.items()}
_FLOATS = {T.FLOAT4.oid, T.FLOAT8.oid}
for _a in _NUMS:
    for _b in _NUMS:
        if _a.oid == _b.oid or (_a.oid in T.INTEGER_TYPES and _b.oid in T.INTEGER_TYPES) \
                or {_a.oid, _b.oid} <= {T.INT2.oid, T.INT4.oid, T.INT8.oid, T.NUMERIC.oid} \
                or {_a.oid, _b.oid} <= _FLOATS:
            exact_ints = _a.oid in T.INTEGER_TYPES and _b.oid in T.INTEGER_TYPES
            _register_cmp(_a, _b, None if exact_ints else _NAN_CMP)
for _a in _STRS:
    for _b in _STRS:
        _register_cmp(_a, _b)
for _t in (T.BOOL, T.BYTEA, T.DATE, T.TIME, T.TIMESTAMP, T.TIMESTAMPTZ, T.INTERVAL, T.UUID,
           T.PG_LSN, T.OID, T.CHAR, T.REGCLASS, T.REGTYPE, T.REGPROC, T.REGNAMESPACE, T.REGROLE):
    _register_cmp(_t, _t)
_register_cmp(T.OID, T.INT4)
_register_cmp(T.INT4, T.OID)
_register_cmp(T.OID, T.INT8)


def _bpchar_cmp(f: Any) -> Any:
    return lambda a, b: f(a.rstrip(" "), b.rstrip(" "))


_register_cmp(T.BPCHAR, T.BPCHAR, {s: _bpchar_cmp(f) for s, f in _CMP.items()})


def _jsonb_eq(a: Any, b: Any) -> bool:
    return _json_key(a) == _json_key(b)


def _json_key(v: Any) -> Any:
    if isinstance(v, dict):
        return ("o", tuple(sorted((k, _json_key(x)) for k, x in v.items())))
    if isinstance(v, list):
        return ("a", tuple(_json_key(x) for x in v))
    if isinstance(v, bool):
        return ("b", v)
    if isinstance(v, (int, float, Decimal)):
        return ("n", Decimal(v) if not isinstance(v, float) else Decimal(repr(v)))
    if isinstance(v, str):
        return ("s", v)
    return ("z",)


_JSON_ORDER = {"z": 0, "s": 1, "n": 2, "b": 3, "a": 4, "o": 5}


def _jsonb_cmp_key(v: Any) -> Any:
    k = _json_key(v)
    return (_JSON_ORDER[k[0]], k)


op("=", T.JSONB, T.JSONB, T.BOOL)(_jsonb_eq)
op("<>", T.JSONB, T.JSONB, T.BOOL)(lambda a, b: not _jsonb_eq(a, b))
for _s in ("<", ">", "<=", ">="):
    op(_s, T.JSONB, T.JSONB, T.BOOL)(
        (lambda f: lambda a, b: f(_jsonb_cmp_key(a), _jsonb_cmp_key(b)))(_CMP[_s]))


def _array_cmp(f: Any) -> Any:
    def cmp(a: list, b: list) -> Any:
        # NULL elements sort after everything, as in PostgreSQL's array comparison
        ka = [(1, 0) if x is None else (0, x) for x in a]
        kb = [(1, 0) if x is None else (0, x) for x in b]
        return f(ka, kb)
    return cmp


for _s, _f in _CMP.items():
    op(_s, ANYARRAY, ANYARRAY, T.BOOL)(_array_cmp(_f))
op("=", T.RECORD, T.RECORD, T.BOOL)(lambda a, b: None if None in a or None in b else a == b)
op("<>", T.RECORD, T.RECORD, T.BOOL)(lambda a, b: None if None in a or None in b else a != b)
for _s in ("<", ">", "<=", ">="):
    op(_s, T.RECORD, T.RECORD, T.BOOL)(_CMP[_s])


# --- integer arithmetic ------------------------------------------------------------------------------

def _int_ops(t: T.SqlType) -> None:
    lo, hi, label = T.INT_RANGES[t.oid]

    def check(r: int) -> int:
        if r < lo or r > hi:
            raise errors.NumericValueOutOfRange(f"{label} out of range")
        return r

    op("+", t, t, t)(lambda a, b: check(a + b))
    op("-", t, t, t)(lambda a, b: check(a - b))
    op("*", t, t, t)(lambda a, b: check(a * b))

    def div(a: int, b: int) -> int:
        if b == 0:
            raise division_by_zero()
        q = abs(a) // abs(b)
        return check(q if (a < 0) == (b < 0) else -q)

    def mod(a: int, b: int) -> int:
        if b == 0:
            raise division_by_zero()
        r = abs(a) % abs(b)
        return r if a >= 0 else -r

    op("/", t, t, t)(div)
    op("%", t, t, t)(mod)
    func("mod", (t, t), t)(mod)
    op("-", None, t, t)(lambda a: check(-a))
    op("+", None, t, t)(lambda a: a)
    op("&", t, t, t)(operator.and_)
    op("|", t, t, t)(operator.or_)
    op("#", t, t, t)(operator.xor)
    op("~", None, t, t)(operator.invert)
    op("<<", t, T.INT4, t)(lambda a, b: check(_shift_left(a, b, t)))
    op(">>", t, T.INT4, t)(lambda a, b: a >> b)
    func("abs", (t,), t)(lambda a: check(abs(a)))


def _shift_left(a: int, b: int, t: T.SqlType) -> int:
    bits = {T.INT2.oid: 16, T.INT4.oid: 32, T.INT8.oid: 64}[t.oid]
    r = (a << (b % bits)) & ((1 << bits) - 1)
    return r - (1 << bits) if r >= 1 << (bits - 1) else r


for _t in _INTS:
    _int_ops(_t)


# --- numeric ---------------------------------------------------------------------------------------------

def _dscale(d: Decimal) -> int:
    e = d.as_tuple().exponent
    return -e if isinstance(e, int) and e < 0 else 0


def _weight_first(d: Decimal) -> tuple[int, int]:
    """PostgreSQL's base-10000 weight and first digit group of |d|."""
    if d == 0:
        return 0, 0
    x = abs(d)
    w = x.adjusted() // 4
    first = int(NUM.divide(x, Decimal(10) ** (4 * w)))
    return w, first


def numeric_div_scale(a: Decimal, b: Decimal) -> int:
    w1, f1 = _weight_first(a)
    w2, f2 = _weight_first(b)
    qweight = w1 - w2
    if f1 <= f2:
        qweight -= 1
    rscale = 16 - qweight * 4
    return min(max(rscale, _dscale(a), _dscale(b), 0), 1000)


def numeric_div(a: Decimal, b: Decimal) -> Decimal:
    if b == 0:
        if a.is_nan():
            return a
        raise division_by_zero()
    if not a.is_finite() or not b.is_finite():
        return NUM.divide(a, b)
    scale = numeric_div_scale(a, b)
    q = NUM.divide(a, b)
    return q.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP, context=NUM)


def _num_mod(a: Decimal, b: Decimal) -> Decimal:
    if b == 0:
        raise division_by_zero()
    return NUM.remainder(a, b)


op("+", T.NUMERIC, T.NUMERIC, T.NUMERIC)(NUM.add)
op("-", T.NUMERIC, T.NUMERIC, T.NUMERIC)(NUM.subtract)
op("*", T.NUMERIC, T.NUMERIC, T.NUMERIC)(NUM.multiply)
op("/", T.NUMERIC, T.NUMERIC, T.NUMERIC)(numeric_div)
op("%", T.NUMERIC, T.NUMERIC, T.NUMERIC)(_num_mod)
func("mod", (T.NUMERIC, T.NUMERIC), T.NUMERIC)(_num_mod)
op("-", None, T.NUMERIC, T.NUMERIC)(lambda a: -a)
op("+", None, T.NUMERIC, T.NUMERIC)(lambda a: a)
func("abs", (T.NUMERIC,), T.NUMERIC)(abs)



def _round_sig(r: Decimal, sig: int) -> Decimal:
    if r == 0:
        return r
    scale = max(sig - 1 - r.adjusted(), 0)
    return r.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP, context=NUM)




# --- float -------------------------------------------------------------------------------------------------

def _float_check(r: float, a: float, b: float) -> float:
    if math.isinf(r) and not (math.isinf(a) or math.isinf(b)):
        raise errors.NumericValueOutOfRange("value out of range: overflow")
    return r


def _fdiv(a: float, b: float) -> float:
    if b == 0:
        raise division_by_zero()
    return _float_check(a / b, a, b)


def _fpow(a: float, b: float) -> float:
    if a == 0 and b < 0:
        raise errors.InvalidArgumentForPowerFunction(
            "zero raised to a negative power is undefined")
    if a < 0 and b != int(b):
        raise errors.InvalidArgumentForPowerFunction(
            "a negative number raised to a non-integer power yields a complex result")
    try:
        return _float_check(a ** b, a, b)
    except OverflowError:
        raise errors.NumericValueOutOfRange("value out of range: overflow") from None


for _t in (T.FLOAT4, T.FLOAT8):
    op("+", _t, _t, _t)(lambda a, b: _float_check(a + b, a, b))
    op("-", _t, _t, _t)(lambda a, b: _float_check(a - b, a, b))
    op("*", _t, _t, _t)(lambda a, b: _float_check(a * b, a, b))
    op("/", _t, _t, _t)(_fdiv)
    op("-", None, _t, _t)(lambda a: -a)
    op("+", None, _t, _t)(lambda a: a)
    func("abs", (_t,), _t)(abs)
# float4 with float8 computes in float8 (PostgreSQL's float48pl ... float84div)
for _a, _b in ((T.FLOAT4, T.FLOAT8), (T.FLOAT8, T.FLOAT4)):
    op("+", _a, _b, T.FLOAT8)(lambda a, b: _float_check(a + b, a, b))
    op("-", _a, _b, T.FLOAT8)(lambda a, b: _float_check(a - b, a, b))
    op("*", _a, _b, T.FLOAT8)(lambda a, b: _float_check(a * b, a, b))
    op("/", _a, _b, T.FLOAT8)(_fdiv)
op("^", T.FLOAT8, T.FLOAT8, T.FLOAT8)(_fpow)
func(("power", "pow"), (T.FLOAT8, T.FLOAT8), T.FLOAT8)(_fpow)
op("%", T.FLOAT8, T.FLOAT8, T.FLOAT8)(lambda a, b: math.fmod(a, b) if b else _raise_div0())
op("|/", None, T.FLOAT8, T.FLOAT8)(lambda a: _sqrt(a))
op("@", None, T.FLOAT8, T.FLOAT8)(abs)


def _raise_div0() -> Any:
    raise division_by_zero()


# --- math functions ----------------------------------------------------------------------------------------

def _sqrt(a: float) -> float:
    if a < 0:
        raise errors.InvalidArgumentForPowerFunction(
            "cannot take square root of a negative number")
    return math.sqrt(a)


def _num_sqrt(a: Decimal) -> Decimal:
    if a < 0:
        raise errors.InvalidArgumentForPowerFunction(
            "cannot take square root of a negative number")
    # PostgreSQL's sqrt result scale: 16 significant digits, at least the input's scale
    w, _ = _weight_first(a)
    sweight = 2 * (w + 1) - 1
    scale = min(max(16 - sweight, _dscale(a), 0), 1000)
    return NUM.sqrt(a).quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP, context=NUM)


func("sqrt", (T.FLOAT8,), T.FLOAT8)(_sqrt)
func("sqrt", (T.NUMERIC,), T.NUMERIC)(_num_sqrt)
func("cbrt", (T.FLOAT8,), T.FLOAT8)(math.cbrt)


def _ln(a: float) -> float:
    if a == 0:
        raise errors.InvalidArgumentForLogarithm("cannot take logarithm of zero")
    if a < 0:
        raise errors.InvalidArgumentForLogarithm("cannot take logarithm of a negative number")
    return math.log(a)


def _log10(a: float) -> float:
    _ln(a)
    return math.log10(a)




func("ln", (T.FLOAT8,), T.FLOAT8)(_ln)
func(("log", "log10"), (T.FLOAT8,), T.FLOAT8)(_log10)
func("exp", (T.FLOAT8,), T.FLOAT8)(lambda a: _float_check(math.exp(a) if a < 710 else math.inf,
                                                          a, 0))
func("pi", (), T.FLOAT8)(lambda: math.pi)
func("degrees", (T.FLOAT8,), T.FLOAT8)(math.degrees)
func("radians", (T.FLOAT8,), T.FLOAT8)(math.radians)
for _name in ("sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh"):
    func(_name, (T.FLOAT8,), T.FLOAT8)(getattr(math, _name))
func("cot", (T.FLOAT8,), T.FLOAT8)(lambda a: 1 / math.tan(a))
func("atan2", (T.FLOAT8, T.FLOAT8), T.FLOAT8)(math.atan2)


def _num_round(a: Decimal, s: int = 0) -> Decimal:
    if not a.is_finite():
        return a
    q = Decimal(1).scaleb(-s)
    r = a.quantize(q, rounding=ROUND_HALF_UP, context=NUM)
    return r if s >= 0 else r.quantize(Decimal(1), context=NUM)


def _num_trunc(a: Decimal, s: int = 0) -> Decimal:
    if not a.is_finite():
        return a
    r = a.quantize(Decimal(1).scaleb(-s), rounding=ROUND_DOWN, context=NUM)
    return r if s >= 0 else r.quantize(Decimal(1), context=NUM)


def _signed_int(fn: Any, a: float) -> float:
    """ceil/floor/trunc of a float as a float; a zero result keeps a's sign
    (PostgreSQL prints ceil(-0.5) as -0)."""
    if not math.isfinite(a):
        return a
    r = float(fn(a))
    return math.copysign(r, a) if r == 0 else r


def _rint(a: float) -> float:
    return float(round(a)) if math.isfinite(a) else a


func("round", (T.NUMERIC,), T.NUMERIC)(_num_round)
func("round", (T.NUMERIC, T.INT4), T.NUMERIC)(_num_round)
func("round", (T.FLOAT8,), T.FLOAT8)(_rint)
func("trunc", (T.NUMERIC,), T.NUMERIC)(_num_trunc)
func("trunc", (T.NUMERIC, T.INT4), T.NUMERIC)(_num_trunc)
func("trunc", (T.FLOAT8,), T.FLOAT8)(lambda a: _signed_int(math.trunc, a))
func(("ceil", "ceiling"), (T.NUMERIC,), T.NUMERIC)(
    lambda a: a.to_integral_value(rounding="ROUND_CEILING") if a.is_finite() else a)
func(("ceil", "ceiling"), (T.FLOAT8,), T.FLOAT8)(lambda a: _signed_int(math.ceil, a))
func("floor", (T.NUMERIC,), T.NUMERIC)(
    lambda a: a.to_integral_value(rounding="ROUND_FLOOR") if a.is_finite() else a)
func("floor", (T.FLOAT8,), T.FLOAT8)(lambda a: _signed_int(math.floor, a))
func("sign", (T.NUMERIC,), T.NUMERIC)(lambda a: Decimal((a > 0) - (a < 0)))
func("sign", (T.FLOAT8,), T.FLOAT8)(lambda a: float((a > 0) - (a < 0)))
func("div", (T.NUMERIC, T.NUMERIC), T.NUMERIC)(
    lambda a, b: NUM.divide_int(a, b) if b != 0 else _raise_div0())
func("gcd", (T.INT8, T.INT8), T.INT8)(math.gcd)
func("lcm", (T.INT8, T.INT8), T.INT8)(math.lcm)
func("factorial", (T.INT8,), T.NUMERIC)(lambda a: Decimal(math.factorial(a)) if a >= 0 else
                                        _raise(errors.InvalidParameterValue(
                                            "factorial of a negative number is undefined")))
func("random", (), T.FLOAT8, volatile=True)(_random.random)
func("setseed", (T.FLOAT8,), T.VOID, volatile=True)(lambda s: _random.seed(s))
func("trim_scale", (T.NUMERIC,), T.NUMERIC)(lambda a: a.normalize(NUM) if a != a.to_integral_value()
                                            else a.quantize(Decimal(1)))


def _width_bucket(v: float, lo: float, hi: float, n: int) -> int:
    if n <= 0:
        raise errors.InvalidArgumentForWidthBucketFunction(
            "count must be greater than zero")
    if lo == hi:
        raise errors.InvalidArgumentForWidthBucketFunction(
            "lower bound cannot equal upper bound")
    if lo < hi:
        if v < lo:
            return 0
        if v >= hi:
            return n + 1
        return int((v - lo) / (hi - lo) * n) + 1
    if v > lo:
        return 0
    if v <= hi:
        return n + 1
    return int((lo - v) / (lo - hi) * n) + 1


func("width_bucket", (T.FLOAT8, T.FLOAT8, T.FLOAT8, T.INT4), T.INT4)(_width_bucket)


def _raise(e: Exception) -> Any:
    raise e


# --- boolean ------------------------------------------------------------------------------------------------

_register_cmp(T.BOOL, T.BOOL)


# --- pattern matching -----------------------------------------------------------------------------------------

@lru_cache(maxsize=1024)
def like_regex(pattern: str, escape: str | None = "\\", flags: int = 0) -> re.Pattern:
    out = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if escape and c == escape:
            if i + 1 >= n:
                raise errors.InvalidEscapeSequence("LIKE pattern must not end with escape "
                                                   "character")
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if c == "%":
            out.append(".*")
        elif c == "_":
            out.append(".")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out), flags | re.DOTALL)


def like(s: str, p: str) -> bool:
    return like_regex(p).fullmatch(s) is not None


def ilike(s: str, p: str) -> bool:
    # case-insensitive for ASCII letters only: the C ctype AionDB reports
    return like_regex(p, "\\", re.IGNORECASE | re.ASCII).fullmatch(s) is not None


for _t in (T.TEXT, T.BPCHAR, T.NAME):
    op("~~", _t, T.TEXT, T.BOOL)(like)
    op("!~~", _t, T.TEXT, T.BOOL)(lambda s, p: not like(s, p))
    op("~~*", _t, T.TEXT, T.BOOL)(ilike)
    op("!~~*", _t, T.TEXT, T.BOOL)(lambda s, p: not ilike(s, p))
op("~~", T.BYTEA, T.BYTEA, T.BOOL)(
    lambda s, p: like(s.decode("latin-1"), p.decode("latin-1")))


def like_escape(s: str, p: str, esc: str) -> bool:
    if len(esc) > 1:
        raise errors.InvalidEscapeSequence("invalid escape string",
                                           hint="Escape string must be empty or one character.")
    return like_regex(p, esc or None).fullmatch(s) is not None


@lru_cache(maxsize=1024)
def posix_regex(pattern: str, flags: int = 0) -> re.Pattern:
    try:
        # POSIX classes PostgreSQL users write; Python's re lacks them
        translated = (pattern.replace("[[:alpha:]]", "[^\\W\\d_]")
                      .replace("[[:digit:]]", "\\d").replace("[[:space:]]", "\\s")
                      .replace("[[:alnum:]]", "[^\\W_]").replace("[[:upper:]]", "[A-Z]")
                      .replace("[[:lower:]]", "[a-z]").replace("[[:punct:]]",
                                                              "[!-/:-@\\[-`{-~]")
                      .replace("[:alpha:]", "a-zA-Z").replace("[:digit:]", "0-9")
                      .replace("[:space:]", "\\s").replace("[:alnum:]", "a-zA-Z0-9")
                      .replace("[:upper:]", "A-Z").replace("[:lower:]", "a-z"))
        return re.compile(translated, flags)
    except re.error as exc:
        raise errors.InvalidRegularExpression(
            f"invalid regular expression: {exc}") from None


def regex_match(s: str, p: str) -> bool:
    return posix_regex(p).search(s) is not None


def regex_imatch(s: str, p: str) -> bool:
    return posix_regex(p, re.IGNORECASE).search(s) is not None


for _t in (T.TEXT, T.BPCHAR, T.NAME, T.VARCHAR):
    op("~", _t, T.TEXT, T.BOOL)(regex_match)
    op("!~", _t, T.TEXT, T.BOOL)(lambda s, p: not regex_match(s, p))
    op("~*", _t, T.TEXT, T.BOOL)(regex_imatch)
    op("!~*", _t, T.TEXT, T.BOOL)(lambda s, p: not regex_imatch(s, p))


def _similar_to_regex(p: str, esc: str | None = "\\") -> re.Pattern:
    """SQL's SIMILAR TO pattern as a regular expression: % and _ are
    wildcards, the escape character (backslash unless ESCAPE says otherwise)
    makes the next character literal, and regex metacharacters that SQL does
    not use (. ^ $) are literal."""
    if esc is not None and len(esc) > 1:
        raise errors.InvalidEscapeSequence("invalid escape string",
                                           hint="Escape string must be empty or one character.")
    out = []
    i = 0
    in_bracket = False
    while i < len(p):
        c = p[i]
        if esc and c == esc and i + 1 < len(p):
            out.append(re.escape(p[i + 1]))
            i += 2
            continue
        if in_bracket:
            out.append(c)
            in_bracket = c != "]"
        elif c == "[":
            out.append(c)
            in_bracket = True
        elif c == "%":
            out.append(".*")
        elif c == "_":
            out.append(".")
        elif c in ".^$\\":
            out.append("\\" + c)
        else:
            out.append(c)
        i += 1
    return posix_regex("".join(out))


def similar_to(s: str, p: str, esc: str | None = "\\") -> bool:
    return _similar_to_regex(p, esc).fullmatch(s) is not None
