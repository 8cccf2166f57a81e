"""Aggregate functions and the hash-aggregation operator."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql import plan as P
from aiondb.sql.exec_base import ExecContext, Operator, hashable, sort_rows, sort_value_fn
from aiondb.sql.expr_compile import compile_expr
from aiondb.sql.fn_core import NUM, numeric_div
from aiondb.sql.functions import (
    AGGREGATES,
    ANY,
    ANYARRAY,
    ANYELEMENT,
    ANYNONARRAY,
    ArgType,
    RetType,
)
from aiondb.values import JSON_NULL, Interval


@dataclass(frozen=True)
class AggregateDef:
    name: str
    args: tuple[ArgType, ...]
    ret: RetType
    init: Callable[[], Any]
    step: Callable[..., Any]          # step(state, *args) → state
    final: Callable[[Any], Any]
    strict: bool = True               # NULL inputs are skipped
    needs_ctx_final: bool = False
    variadic: ArgType | None = None
    # for aggregates whose work depends on the argument types (json_agg):
    # specialize(arg types) → the AggregateDef to run
    specialize: Callable[[list[T.SqlType]], AggregateDef] | None = None


def aggregate(name: str | tuple[str, ...], args: tuple[ArgType, ...], ret: RetType,
              init: Callable[[], Any], step: Callable[..., Any],
              final: Callable[[Any], Any] = lambda s: s, strict: bool = True) -> None:
    for n in (name,) if isinstance(name, str) else name:
        AGGREGATES.setdefault(n, []).append(AggregateDef(n, args, ret, init, step, final,
                                                         strict))


def is_aggregate(name: str) -> bool:
    return name in AGGREGATES


# --- definitions --------------------------------------------------------------------------------

def _count_step(s: int, *args: Any) -> int:
    return s + 1


aggregate("count", (), T.INT8, lambda: 0, _count_step)          # count(*)
aggregate("count", (ANY,), T.INT8, lambda: 0, _count_step)


def _sum_step(s: Any, v: Any) -> Any:
    return v if s is None else s + v


def _sum_numeric(s: Any, v: Any) -> Any:
    return v if s is None else NUM.add(s, v)


def _check_int8(v: Any) -> Any:
    if v is not None and not -2**63 <= v < 2**63:
        raise errors.NumericValueOutOfRange("bigint out of range")
    return v


aggregate("sum", (T.INT2,), T.INT8, lambda: None, _sum_step)
aggregate("sum", (T.INT4,), T.INT8, lambda: None, _sum_step, _check_int8)
aggregate("sum", (T.INT8,), T.NUMERIC, lambda: None, _sum_step,
          lambda s: None if s is None else Decimal(s))
aggregate("sum", (T.NUMERIC,), T.NUMERIC, lambda: None, _sum_numeric)
aggregate("sum", (T.FLOAT4,), T.FLOAT4, lambda: None, _sum_step)
aggregate("sum", (T.FLOAT8,), T.FLOAT8, lambda: None, _sum_step)
aggregate("sum", (T.INTERVAL,), T.INTERVAL, lambda: None, _sum_step)


def _avg_step(s: list, v: Any) -> list:
    s[0] = v if s[0] is None else s[0] + v
    s[1] += 1
    return s


def _avg_numeric_final(s: list) -> Any:
    if s[1] == 0:
        return None
    return numeric_div(Decimal(s[0]), Decimal(s[1]))


def _avg_float_final(s: list) -> Any:
    return None if s[1] == 0 else s[0] / s[1]


def _avg_interval_final(s: list) -> Any:
    if s[1] == 0:
        return None
    iv: Interval = s[0]
    return _interval_div(iv, s[1])


def _interval_div(iv: Interval, n: float) -> Interval:
    months = iv.months / n
    whole_m = int(months)
    days = iv.days / n + (months - whole_m) * 30
    whole_d = int(days)
    micros = iv.micros / n + (days - whole_d) * 86_400_000_000
    return Interval(whole_m, whole_d, round(micros))


for _t in (T.INT2, T.INT4, T.INT8, T.NUMERIC):
    aggregate("avg", (_t,), T.NUMERIC, lambda: [None, 0], _avg_step, _avg_numeric_final)
for _t in (T.FLOAT4, T.FLOAT8):
    aggregate("avg", (_t,), T.FLOAT8, lambda: [None, 0], _avg_step, _avg_float_final)
aggregate("avg", (T.INTERVAL,), T.INTERVAL, lambda: [None, 0], _avg_step, _avg_interval_final)


def _min_step(s: Any, v: Any) -> Any:
    return v if s is None or v < s else s


def _max_step(s: Any, v: Any) -> Any:
    return v if s is None or v > s else s


aggregate("min", (ANYELEMENT,), ANYELEMENT, lambda: None, _min_step)
aggregate("max", (ANYELEMENT,), ANYELEMENT, lambda: None, _max_step)
aggregate(("bool_and", "every"), (T.BOOL,), T.BOOL, lambda: None,
          lambda s, v: v if s is None else (s and v))
aggregate("bool_or", (T.BOOL,), T.BOOL, lambda: None, lambda s, v: v if s is None else (s or v))
aggregate("bit_and", (T.INT8,), T.INT8, lambda: None, lambda s, v: v if s is None else s & v)
aggregate("bit_or", (T.INT8,), T.INT8, lambda: None, lambda s, v: v if s is None else s | v)


def _list_step(s: list, *v: Any) -> list:
    s.append(v[0] if len(v) == 1 else v)
    return s


def _string_agg_step(s: list, v: str, sep: str | None) -> list:
    s.append((v, sep))
    return s


def _string_agg_final(s: list) -> Any:
    if not s:
        return None
    out = [s[0][0]]
    for v, sep in s[1:]:
        out.append(sep or "")
        out.append(v)
    return "".join(out)


def _string_agg_step_nonstrict(s: list, v: Any, sep: Any) -> list:
    if v is not None:
        s.append((v, sep))
    return s


aggregate("string_agg", (T.TEXT, T.TEXT), T.TEXT, list, _string_agg_step_nonstrict,
          _string_agg_final, strict=False)
aggregate("string_agg", (T.BYTEA, T.BYTEA), T.BYTEA, list, _string_agg_step_nonstrict,
          lambda s: None if not s else s[0][0] + b"".join((sep or b"") + v for v, sep in s[1:]),
          strict=False)
aggregate("array_agg", (ANYNONARRAY,), ANYARRAY, list, _list_step,
          lambda s: s if s else None, strict=False)


def _array_agg_arrays_step(s: list, v: list | None) -> list:
    """array_agg(array): one dimension more; the inputs must be non-NULL and
    of equal shape (PostgreSQL)."""
    if v is None:
        raise errors.NullValueNotAllowed("cannot accumulate null arrays")
    if not v:
        raise errors.ArraySubscriptError("cannot accumulate empty arrays")
    if s and len(s[0]) != len(v):
        raise errors.ArraySubscriptError("cannot accumulate arrays of different dimensionality")
    s.append(v)
    return s


aggregate("array_agg", (ANYARRAY,), ANYARRAY, list, _array_agg_arrays_step,
          lambda s: s if s else None, strict=False)


def _to_json_value(v: Any) -> Any:
    from aiondb.sql.fn_json import to_jsonb_value
    return to_jsonb_value(v)


aggregate("jsonb_agg", (ANYELEMENT,), T.JSONB, list,
          lambda s, v: s.append(JSON_NULL if v is None else _to_json_value(v)) or s,
          lambda s: s if s else None, strict=False)


def _obj_step(s: dict, k: Any, v: Any) -> dict:
    if k is None:
        raise errors.NullValueNotAllowed("field name must not be null")
    s[str(k) if not isinstance(k, str) else k] = JSON_NULL if v is None else _to_json_value(v)
    return s


aggregate("jsonb_object_agg", (ANY, ANY), T.JSONB, dict, _obj_step,
          lambda s: s if s else None, strict=False)


def _typed_json_aggregates() -> None:
    """json_agg / json_object_agg write json text laid out per argument type."""
    from dataclasses import replace

    from aiondb.sql.fn_jsontext import json_agg_parts, json_object_agg_parts

    def agg(ts: list[T.SqlType]) -> AggregateDef:
        init, step, final = json_agg_parts(ts[0])
        return replace(base_agg, init=init, step=step, final=final, specialize=None)

    def obj(ts: list[T.SqlType]) -> AggregateDef:
        init, step, final = json_object_agg_parts(ts[0], ts[1])
        return replace(base_obj, init=init, step=step, final=final, specialize=None)

    base_agg = AggregateDef("json_agg", (ANYELEMENT,), T.JSON, list, _list_step, lambda s: s,
                            strict=False, specialize=agg)
    base_obj = AggregateDef("json_object_agg", (ANY, ANY), T.JSON, list, _list_step,
                            lambda s: s, strict=False, specialize=obj)
    AGGREGATES.setdefault("json_agg", []).append(base_agg)
    AGGREGATES.setdefault("json_object_agg", []).append(base_obj)


_typed_json_aggregates()


# --- ordered-set aggregates: f(direct args) WITHIN GROUP (ORDER BY value) ----------------------
# The executor feeds them their rows already sorted by the WITHIN GROUP order;
# each row brings (direct arguments..., value).

ORDERED_SET = frozenset(("percentile_cont", "percentile_disc", "mode"))


def _ordset_step(s: list, *args: Any) -> list:
    s.append(args)
    return s


def _fractions(frac: Any) -> list[float]:
    fs = frac if isinstance(frac, list) else [frac]
    for f in fs:
        if f is not None and not 0 <= f <= 1:
            raise errors.NumericValueOutOfRange(
                f"percentile value {f:g} is not between 0 and 1")
    return fs


def _percentile(cont: bool) -> Callable[[list], Any]:
    def one(vals: list, f: float | None) -> Any:
        if f is None:
            return None
        n = len(vals)
        if not cont:       # the first value whose cumulative share reaches f
            return vals[max(0, math.ceil(f * n) - 1)]
        pos = f * (n - 1)
        lo, hi = math.floor(pos), math.ceil(pos)
        a, b = vals[lo], vals[hi]
        if lo == hi:
            return a
        if isinstance(a, Interval):
            from aiondb.sql.fn_datetime import iv_mul
            return a + iv_mul(b - a, pos - lo)
        return a + (b - a) * (pos - lo)

    def final(s: list) -> Any:
        if not s:
            return None
        frac = s[0][0]
        fs = _fractions(frac)
        vals = [args[-1] for args in s]
        out = [one(vals, f) for f in fs]
        return out if isinstance(frac, list) else out[0]
    return final


def _mode_final(s: list) -> Any:
    """The most frequent value; among ties, the first in the sort order."""
    best, best_n, cur, cur_n = None, 0, None, 0
    for (v,) in s:
        if cur_n and v == cur:
            cur_n += 1
        else:
            cur, cur_n = v, 1
        if cur_n > best_n:
            best, best_n = cur, cur_n
    return best


F8A = T.FLOAT8.array_of()
aggregate("percentile_cont", (T.FLOAT8, T.FLOAT8), T.FLOAT8, list, _ordset_step,
          _percentile(True))
aggregate("percentile_cont", (T.FLOAT8, T.INTERVAL), T.INTERVAL, list, _ordset_step,
          _percentile(True))
aggregate("percentile_cont", (F8A, T.FLOAT8), F8A, list, _ordset_step, _percentile(True))
aggregate("percentile_cont", (F8A, T.INTERVAL), T.INTERVAL.array_of(), list, _ordset_step,
          _percentile(True))
aggregate("percentile_disc", (T.FLOAT8, ANYELEMENT), ANYELEMENT, list, _ordset_step,
          _percentile(False))
aggregate("percentile_disc", (F8A, ANYELEMENT), ANYARRAY, list, _ordset_step,
          _percentile(False))
aggregate("mode", (ANYELEMENT,), ANYELEMENT, list, _ordset_step, _mode_final)


def _var_step(s: list, v: Any) -> list:
    s.append(v)
    return s


def _variance(samp: bool, numeric: bool) -> Callable[[list], Any]:
    def final(s: list) -> Any:
        n = len(s)
        if n == 0 or (samp and n == 1):
            return None
        if numeric:
            vals = [Decimal(x) for x in s]
            mean = NUM.divide(sum(vals, Decimal(0)), Decimal(n))
            ss = sum(((x - mean) ** 2 for x in vals), Decimal(0))
            r = NUM.divide(ss, Decimal(n - 1 if samp else n))
            return numeric_div(r, Decimal(1))
        return _float_sxx(s) / (n - 1 if samp else n)
    return final


def _float_sxx(values: list) -> float:
    """Sum of squared deviations, accumulated as PostgreSQL's float8_accum
    does (Youngs-Cramer) so the last digits agree with PostgreSQL's."""
    n = sx = sxx = 0.0
    for v in values:
        x = float(v)
        n0, sx0 = n, sx
        n += 1.0
        sx += x
        if n0 > 0.0:
            t = x * n - sx
            sxx += t * t / (n * n0)
            if math.isinf(sx) or math.isinf(sxx):
                if not math.isinf(sx0) and not math.isinf(x):
                    raise errors.NumericValueOutOfRange("value out of range: overflow")
                sxx = math.nan
        elif math.isnan(x) or math.isinf(x):
            sxx = math.nan
    return sxx


def _stddev(samp: bool, numeric: bool) -> Callable[[list], Any]:
    var = _variance(samp, numeric)

    def final(s: list) -> Any:
        v = var(s)
        if v is None:
            return None
        if numeric:
            from aiondb.sql.fn_core import _num_sqrt
            return _num_sqrt(v)
        return math.sqrt(v)
    return final


for _names, _samp in ((("variance", "var_samp"), True), (("var_pop",), False)):
    for _t, _ret, _num in ((T.INT8, T.NUMERIC, True), (T.NUMERIC, T.NUMERIC, True),
                           (T.FLOAT8, T.FLOAT8, False)):
        aggregate(_names, (_t,), _ret, list, _var_step, _variance(_samp, _num))
for _names, _samp in ((("stddev", "stddev_samp"), True), (("stddev_pop",), False)):
    for _t, _ret, _num in ((T.INT8, T.NUMERIC, True), (T.NUMERIC, T.NUMERIC, True),
                           (T.FLOAT8, T.FLOAT8, False)):
        aggregate(_names, (_t,), _ret, list, _var_step, _stddev(_samp, _num))


# --- operator ------------------------------------------------------------------------------------------------

class AggregateOp(Operator):
    """Hash aggregation. With grouping sets (ROLLUP, CUBE, GROUPING SETS) each
    set groups by its own subset of the group expressions; the others read
    NULL in that set's rows, which come out set by set."""

    __slots__ = ("input", "group_fns", "aggs", "has_groups", "sets", "loop")

    def __init__(self, p: P.Aggregate, input_op: Operator) -> None:
        self.input = input_op
        self.group_fns = [compile_expr(e) for e in p.group_exprs]
        self.has_groups = bool(p.group_exprs)
        self.sets = [frozenset(s) for s in p.grouping_sets] \
            if p.grouping_sets is not None else None
        self.aggs = []
        for a in p.aggregates:
            self.aggs.append((
                a.impl,
                [compile_expr(x) for x in a.args],
                compile_expr(a.filter) if a.filter is not None else None,
                a.distinct,
                [(compile_expr(o[0]), o[1], o[2], sort_value_fn(o[0].type)) for o in a.order],
                a.impl.strict and not a.star,
            ))
        self.loop = None
        if self.sets is None and all(not a.distinct and not a.order for a in p.aggregates):
            from aiondb.sql.agg_loop import compile_group_loop
            self.loop = compile_group_loop(
                p.group_exprs, [(a.impl, a.args, a.filter, a.impl.strict and not a.star)
                                for a in p.aggregates], hashable)

    def rows(self, ctx: ExecContext) -> list[tuple]:
        if self.loop is not None:
            return self._rows_compiled(ctx)
        group_fns = self.group_fns
        aggs = self.aggs
        simple = all(not d and not o and f is None for _, _, f, d, o, _ in aggs)
        sets = self.sets if self.sets is not None else [frozenset(range(len(group_fns)))]
        masks = [tuple(i in s for i in range(len(group_fns))) for s in sets]
        all_groups: list[dict[Any, list]] = [{} for _ in sets]
        for row in self.input.rows(ctx):
            full = tuple(g(row, ctx) for g in group_fns)
            for mask, groups in zip(masks, all_groups, strict=True):
                gvals = full if all(mask) else \
                    tuple(v if m else None for v, m in zip(full, mask, strict=True))
                try:
                    entry = groups.get(gvals)
                    gkey = gvals
                except TypeError:
                    gkey = tuple(hashable(v) for v in gvals)
                    entry = groups.get(gkey)
                if entry is None:
                    entry = groups[gkey] = [gvals, [self._init(a) for a in aggs]]
                self._step(entry[1], row, simple, ctx)
        out = []
        for s, groups in zip(sets, all_groups, strict=True):
            if not groups and (not s if self.sets is not None else not self.has_groups):
                # an empty grouping set (or no GROUP BY) yields one row even for no input
                groups[()] = [(None,) * len(group_fns), [self._init(a) for a in aggs]]
            # grouping sets: a bitmask of the group expressions this set leaves out
            extra = () if self.sets is None else \
                (sum(1 << i for i in range(len(group_fns)) if i not in s),)
            for gvals, states in groups.values():
                vals = []
                for i, (impl, _a, _f, distinct, order, _s) in enumerate(aggs):
                    st = states[i]
                    if distinct or order:
                        st = self._replay(impl, st, distinct, order, ctx)
                    vals.append(impl.final(st))
                out.append(gvals + extra + tuple(vals))
        return out

    def _rows_compiled(self, ctx: ExecContext) -> list[tuple]:
        groups: dict[Any, list] = {}
        assert self.loop is not None
        self.loop(self.input.rows(ctx), ctx, groups)
        finals = [a[0].final for a in self.aggs]
        if not groups:
            if self.has_groups:
                return []
            # no GROUP BY: one row even for no input
            return [tuple(f(a[0].init()) for f, a in zip(finals, self.aggs, strict=True))]
        out = []
        for entry in groups.values():
            out.append(entry[0] + tuple([f(st) for f, st in zip(finals, entry[1:],
                                                                strict=True)]))
        return out

    def _step(self, states: list, row: tuple, simple: bool, ctx: ExecContext) -> None:
        if simple:
            for i, (impl, argfns, _f, _d, _o, strict) in enumerate(self.aggs):
                args = [a(row, ctx) for a in argfns]
                if strict and None in args:
                    continue
                states[i] = impl.step(states[i], *args)
            return
        for i, (impl, argfns, flt, distinct, order, strict) in enumerate(self.aggs):
            if flt is not None and flt(row, ctx) is not True:
                continue
            args = [a(row, ctx) for a in argfns]
            if strict and None in args:
                continue
            st = states[i]
            if distinct or order:
                st.append((args, row))
            else:
                states[i] = impl.step(st, *args)

    @staticmethod
    def _init(a: tuple) -> Any:
        impl, _args, _flt, distinct, order, _strict = a
        return [] if (distinct or order) else impl.init()

    @staticmethod
    def _replay(impl: AggregateDef, buffered: list, distinct: bool, order: list,
                ctx: ExecContext) -> Any:
        if order:
            rows = [(args, row) for args, row in buffered]
            keyed = [(row, args) for args, row in rows]
            sort_rows(keyed, [(lambda r, c, f=f: f(r[0], c), d, n, conv)
                              for f, d, n, conv in order], ctx)
            buffered = [(args, row) for row, args in keyed]
        state = impl.init()
        seen: set = set()
        for args, _row in buffered:
            if distinct:
                k = tuple(hashable(a) for a in args)
                if k in seen:
                    continue
                seen.add(k)
            state = impl.step(state, *args)
        return state

