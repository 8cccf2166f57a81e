"""Numeric (arbitrary precision) powers, roots, logarithms and scale
functions, with PostgreSQL's result scales: at least 16 significant digits
(NUMERIC_MIN_SIG_DIGITS), never fewer decimals than the inputs show, at most
1000. The scale follows from an estimate of the result's decimal weight made
the way PostgreSQL makes it, so `ln(2.0)`, `exp(1.0)` or `2.0 ^ 0.5` print
exactly as many digits as PostgreSQL prints."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation

from aiondb import errors
from aiondb import types as T
from aiondb.sql.functions import func, op

MIN_SIG_DIGITS = 16
MAX_SCALE = 1000


def dscale(d: Decimal) -> int:
    """Display scale: digits after the decimal point as written."""
    e = d.as_tuple().exponent
    return -e if isinstance(e, int) and e < 0 else 0


def _result_scale(weight: int, *inputs: Decimal) -> int:
    s = MIN_SIG_DIGITS - weight
    for d in inputs:
        s = max(s, dscale(d))
    return min(max(s, 0), MAX_SCALE)


def _round(d: Decimal, scale: int) -> Decimal:
    return d.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP,
                      context=Context(prec=max(scale + d.adjusted() + 2, 28), Emax=999999,
                                      Emin=-999999))


def _ctx(scale: int, magnitude: int = 0) -> Context:
    """Enough precision for `scale` decimals of a value of that magnitude."""
    return Context(prec=max(scale + max(magnitude, 0) + 12, 40), Emax=999999, Emin=-999999)


def ln_weight(x: Decimal) -> int:
    """Decimal weight of ln(x), estimated like PostgreSQL's estimate_ln_dweight."""
    if x <= 0:
        return 0
    if Decimal("0.9") <= x <= Decimal("1.1"):
        y = x - 1
        return 0 if y == 0 else y.adjusted()
    # the first two base-10000 digit groups of x: x ≈ digits * 10^dweight
    group = x.adjusted() // 4
    dweight = (group - 1) * 4
    digits = int(x.scaleb(-dweight))
    ln_x = math.log(digits) + dweight * 2.302585092994046
    return int(math.log10(abs(ln_x)))


def _check_log_arg(x: Decimal) -> None:
    if x == 0:
        raise errors.InvalidArgumentForLogarithm("cannot take logarithm of zero")
    if x < 0:
        raise errors.InvalidArgumentForLogarithm("cannot take logarithm of a negative number")


def num_ln(x: Decimal) -> Decimal:
    _check_log_arg(x)
    if x.is_nan():
        return x
    scale = _result_scale(ln_weight(x), x)
    return _round(x.ln(_ctx(scale)), scale)


def num_log(base: Decimal, x: Decimal) -> Decimal:
    _check_log_arg(base)
    _check_log_arg(x)
    if base.is_nan() or x.is_nan():
        return Decimal("NaN")
    if base == 1:
        raise errors.DivisionByZero("division by zero")
    scale = _result_scale(ln_weight(x) - ln_weight(base), base, x)
    ctx = _ctx(scale + 5)
    return _round(ctx.divide(x.ln(ctx), base.ln(ctx)), scale)


def num_log10(x: Decimal) -> Decimal:
    return num_log(Decimal(10), x)


def num_exp(x: Decimal) -> Decimal:
    if x.is_nan():
        return x
    weight_est = float(x) * 0.434294481903252
    if weight_est > 400000:
        raise errors.NumericValueOutOfRange("value overflows numeric format")
    scale = _result_scale(int(weight_est), x)
    return _round(x.exp(_ctx(scale, int(weight_est))), scale)


def num_power(a: Decimal, b: Decimal) -> Decimal:
    if a.is_nan() or b.is_nan():
        return Decimal(1) if (a == 1 and not a.is_nan()) or (b == 0 and not b.is_nan()) \
            else Decimal("NaN")
    if a == 0 and b < 0:
        raise errors.InvalidArgumentForPowerFunction(
            "zero raised to a negative power is undefined")
    integral = b == b.to_integral_value()
    if a < 0 and not integral:
        raise errors.InvalidArgumentForPowerFunction(
            "a negative number raised to a non-integer power yields a complex result")
    if integral and abs(b) <= 2147483647:
        # an integer exponent: 16 decimals (or the base's), computed exactly
        scale = _result_scale(0, a)
        n = int(b)
        weight = int(n * math.log10(abs(a))) if a != 0 else 0
        if weight > 400000:
            raise errors.NumericValueOutOfRange("value overflows numeric format")
        ctx = _ctx(scale, weight)
        r = ctx.power(a, n) if n >= 0 else ctx.divide(1, ctx.power(a, -n))
        return _round(r, scale)
    if a == 0:
        return _round(Decimal(0), _result_scale(0, a, b))
    weight_est = float(a.ln(_ctx(8)) * b) * 0.434294481903252
    if weight_est > 400000:
        raise errors.NumericValueOutOfRange("value overflows numeric format")
    scale = _result_scale(int(weight_est), a, b)
    try:
        r = _ctx(scale, int(weight_est)).power(a, b)
    except InvalidOperation:
        raise errors.NumericValueOutOfRange("value overflows numeric format") from None
    return _round(r, scale)


def min_scale(x: Decimal) -> int | None:
    """Fewest decimals that represent x exactly."""
    if not x.is_finite():
        return None
    if x == 0:
        return 0
    e = x.normalize().as_tuple().exponent
    return -e if isinstance(e, int) and e < 0 else 0


def trim_scale(x: Decimal) -> Decimal:
    if not x.is_finite():
        return x
    return x.quantize(Decimal(1).scaleb(-(min_scale(x) or 0)))


func("ln", (T.NUMERIC,), T.NUMERIC)(num_ln)
func(("log", "log10"), (T.NUMERIC,), T.NUMERIC)(num_log10)
func("log", (T.NUMERIC, T.NUMERIC), T.NUMERIC)(num_log)
func("exp", (T.NUMERIC,), T.NUMERIC)(num_exp)
op("^", T.NUMERIC, T.NUMERIC, T.NUMERIC)(num_power)
func(("power", "pow"), (T.NUMERIC, T.NUMERIC), T.NUMERIC)(num_power)
func("scale", (T.NUMERIC,), T.INT4)(lambda x: dscale(x) if x.is_finite() else None)
func("min_scale", (T.NUMERIC,), T.INT4)(min_scale)
func("trim_scale", (T.NUMERIC,), T.NUMERIC)(trim_scale)
