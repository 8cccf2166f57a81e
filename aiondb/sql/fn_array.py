"""Array functions and operators, and the series/unnest set-returning functions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql.functions import ANYARRAY, ANYELEMENT, ANYNONARRAY, func, op, srf
from aiondb.sql.textio import format_text, guess_type
from aiondb.values import Interval


def array_subscript(arr: list, i: int) -> Any:
    """1-based element; out of range is NULL, as in PostgreSQL."""
    if 1 <= i <= len(arr):
        return arr[i - 1]
    return None


def array_slice(arr: list | None, lo: int | None, hi: int | None) -> list | None:
    if arr is None:
        return None
    start = 1 if lo is None else max(lo, 1)
    end = len(arr) if hi is None else min(hi, len(arr))
    if start > end:
        return []
    return arr[start - 1:end]


def array_subscripts(arr: list, *idx: int) -> Any:
    """arr[i][j]...: NULL when out of range, or when fewer subscripts than
    the array has dimensions (PostgreSQL)."""
    cur: Any = arr
    for i in idx:
        if not isinstance(cur, list) or not 1 <= i <= len(cur):
            return None
        cur = cur[i - 1]
    return None if isinstance(cur, list) else cur


def array_slices(arr: list | None, *bounds: int | None) -> list | None:
    """arr[a:b][c:d]...: bounds come in (lower, upper) pairs, None = open."""
    if arr is None:
        return None

    def cut(cur: Any, k: int) -> Any:
        if k >= len(bounds) or not isinstance(cur, list):
            return cur
        lo, hi = bounds[k], bounds[k + 1]
        start = 1 if lo is None else max(lo, 1)
        end = len(cur) if hi is None else min(hi, len(cur))
        if start > end:
            return []
        return [cut(x, k + 2) for x in cur[start - 1:end]]
    out = cut(arr, 0)
    return [] if out and all(x == [] for x in out) else out


def array_assign(arr: list | None, i: int, value: Any) -> list:
    """UPDATE ... SET a[i] = v: replace element i; past the end, pad with NULLs."""
    if i is None:
        raise errors.NullValueNotAllowed("array subscript in assignment must not be null")
    if i < 1:
        raise errors.FeatureNotSupported("array subscripts below 1 are not supported")
    if arr and isinstance(arr[0], list):
        raise errors.FeatureNotSupported("assigning to an element of a multidimensional "
                                         "array is not supported")
    out = list(arr) if arr is not None else []
    if i > len(out):
        out += [None] * (i - len(out))
    out[i - 1] = value
    return out


def _dims(arr: list) -> list[int]:
    dims = []
    cur: Any = arr
    while isinstance(cur, list):
        dims.append(len(cur))
        if not cur:
            break
        cur = cur[0]
    return dims


op("||", ANYARRAY, ANYARRAY, ANYARRAY)(lambda a, b: a + b)
op("||", ANYARRAY, ANYNONARRAY, ANYARRAY)(lambda a, b: a + [b])
op("||", ANYNONARRAY, ANYARRAY, ANYARRAY)(lambda a, b: [a] + b)
op("@>", ANYARRAY, ANYARRAY, T.BOOL)(lambda a, b: all(x in a for x in b if x is not None)
                                     and None not in b)
op("<@", ANYARRAY, ANYARRAY, T.BOOL)(lambda a, b: all(x in b for x in a if x is not None)
                                     and None not in a)
op("&&", ANYARRAY, ANYARRAY, T.BOOL)(lambda a, b: any(x in b for x in a if x is not None))

func("array_append", (ANYARRAY, ANYELEMENT), ANYARRAY, strict=False)(
    lambda a, e: (a or []) + [e])
func("array_prepend", (ANYELEMENT, ANYARRAY), ANYARRAY, strict=False)(
    lambda e, a: [e] + (a or []))
func("array_cat", (ANYARRAY, ANYARRAY), ANYARRAY, strict=False)(
    lambda a, b: None if a is None and b is None else (a or []) + (b or []))
func("array_remove", (ANYARRAY, ANYELEMENT), ANYARRAY, strict=False)(
    lambda a, e: None if a is None else [x for x in a if x != e or (e is None and x is not None)]
    if e is not None else [x for x in a if x is not None])
func("array_replace", (ANYARRAY, ANYELEMENT, ANYELEMENT), ANYARRAY, strict=False)(
    lambda a, x, y: None if a is None else [y if v == x else v for v in a])


@func("array_position", (ANYARRAY, ANYELEMENT), T.INT4, strict=False)
def _array_position(a: list | None, e: Any, start: int = 1) -> int | None:
    if a is None:
        return None
    for i in range(max(start, 1) - 1, len(a)):
        if a[i] == e or (a[i] is None and e is None):
            return i + 1
    return None


func("array_position", (ANYARRAY, ANYELEMENT, T.INT4), T.INT4, strict=False)(_array_position)
func("array_positions", (ANYARRAY, ANYELEMENT), T.INT4.array_of(), strict=False)(
    lambda a, e: None if a is None else [i + 1 for i, x in enumerate(a) if x == e])


@func("array_length", (ANYARRAY, T.INT4), T.INT4)
def _array_length(a: list, dim: int) -> int | None:
    dims = _dims(a)
    if not a or not 1 <= dim <= len(dims):
        return None
    return dims[dim - 1]


func("array_upper", (ANYARRAY, T.INT4), T.INT4)(_array_length)
func("array_lower", (ANYARRAY, T.INT4), T.INT4)(
    lambda a, d: 1 if a and 1 <= d <= len(_dims(a)) else None)
func("array_ndims", (ANYARRAY,), T.INT4)(lambda a: len(_dims(a)) if a else None)
func("array_dims", (ANYARRAY,), T.TEXT)(
    lambda a: "".join(f"[1:{n}]" for n in _dims(a)) if a else None)


@func("cardinality", (ANYARRAY,), T.INT4)
def _cardinality(a: list) -> int:
    n = 0
    for x in a:
        n += _cardinality(x) if isinstance(x, list) else 1
    return n


def _elem_text(x: Any) -> str:
    return x if isinstance(x, str) else format_text(guess_type(x), x)


@func("array_to_string", (ANYARRAY, T.TEXT), T.TEXT)
def array_to_string(a: list, sep: str, null: str | None = None) -> str:
    parts = []
    for x in _flatten(a):
        if x is None:
            if null is not None:
                parts.append(null)
            continue
        parts.append(_elem_text(x))
    return sep.join(parts)


func("array_to_string", (ANYARRAY, T.TEXT, T.TEXT), T.TEXT, strict=False)(
    lambda a, s, n: None if a is None or s is None else array_to_string(a, s, n))


def _flatten(a: list) -> list:
    out = []
    for x in a:
        if isinstance(x, list):
            out += _flatten(x)
        else:
            out.append(x)
    return out


@func("string_to_array", (T.TEXT, T.TEXT), T.TEXT.array_of(), strict=False)
def _string_to_array(s: str | None, sep: str | None, null: str | None = None) -> list | None:
    if s is None:
        return None
    if s == "":
        return []
    parts = list(s) if sep is None else (s.split(sep) if sep != "" else [s])
    return [None if null is not None and p == null else p for p in parts]


func("string_to_array", (T.TEXT, T.TEXT, T.TEXT), T.TEXT.array_of(), strict=False)(
    _string_to_array)


@func("array_fill", (ANYELEMENT, T.INT4.array_of()), ANYARRAY, strict=False)
def _array_fill(v: Any, dims: list | None) -> list | None:
    if dims is None:
        return None

    def build(ds: list) -> list:
        if len(ds) == 1:
            return [v] * ds[0]
        return [build(ds[1:]) for _ in range(ds[0])]
    return build(dims) if dims else []


# --- set-returning: unnest, generate_series, generate_subscripts -----------------------------------

@srf("unnest", (ANYARRAY,), lambda ts: [("unnest", ts[0].elem or T.TEXT)])
def _unnest(ctx: Any, arr: list) -> Any:
    return [(x,) for x in _flatten(arr)]


@srf("unnest", (ANYARRAY, ANYARRAY), lambda ts: [("unnest", ts[0].elem or T.TEXT),
                                                 ("unnest", ts[1].elem or T.TEXT)],
     strict=False)
def _unnest2(ctx: Any, a: list | None, b: list | None) -> Any:
    a = a or []
    b = b or []
    n = max(len(a), len(b))
    return [(a[i] if i < len(a) else None, b[i] if i < len(b) else None) for i in range(n)]


def _series_int(ctx: Any, start: int, stop: int, step: int = 1) -> Any:
    if step == 0:
        raise errors.InvalidParameterValue("step size cannot equal zero")
    if step > 0:
        return ((i,) for i in range(start, stop + 1, step))
    return ((i,) for i in range(start, stop - 1, step))


for _t in (T.INT4, T.INT8):
    srf("generate_series", (_t, _t), lambda ts, _t=_t: [("generate_series", _t)])(_series_int)
    srf("generate_series", (_t, _t, _t),
        lambda ts, _t=_t: [("generate_series", _t)])(_series_int)


def _series_numeric(ctx: Any, start: Decimal, stop: Decimal, step: Decimal = Decimal(1)) -> Any:
    if step == 0:
        raise errors.InvalidParameterValue("step size cannot equal zero")
    out = []
    v = start
    while (step > 0 and v <= stop) or (step < 0 and v >= stop):
        out.append((v,))
        v += step
    return out


srf("generate_series", (T.NUMERIC, T.NUMERIC),
    lambda ts: [("generate_series", T.NUMERIC)])(_series_numeric)
srf("generate_series", (T.NUMERIC, T.NUMERIC, T.NUMERIC),
    lambda ts: [("generate_series", T.NUMERIC)])(_series_numeric)


def _series_ts(ctx: Any, start: dt.datetime, stop: dt.datetime, step: Interval) -> Any:
    from aiondb.sql.fn_datetime import ts_add
    if step.months == 0 and step.days == 0 and step.micros == 0:
        raise errors.InvalidParameterValue("step size cannot equal zero")
    forward = step._span() > 0
    out = []
    v = start
    tz = ctx.tz if start.tzinfo is not None else None
    n = 0
    while (forward and v <= stop) or (not forward and v >= stop):
        out.append((v,))
        n += 1
        v = ts_add(start, Interval(step.months * n, step.days * n, step.micros * n), tz)
    return out


srf("generate_series", (T.TIMESTAMP, T.TIMESTAMP, T.INTERVAL),
    lambda ts: [("generate_series", T.TIMESTAMP)])(_series_ts)
srf("generate_series", (T.TIMESTAMPTZ, T.TIMESTAMPTZ, T.INTERVAL),
    lambda ts: [("generate_series", T.TIMESTAMPTZ)])(_series_ts)


@srf("generate_subscripts", (ANYARRAY, T.INT4), lambda ts: [("generate_subscripts", T.INT4)])
def _generate_subscripts(ctx: Any, arr: list, dim: int) -> Any:
    dims = _dims(arr)
    if not 1 <= dim <= len(dims):
        return []
    return [(i,) for i in range(1, dims[dim - 1] + 1)]

