"""Compilation of bound expressions (expr.py nodes) to closures:
`compile_expr(node)` returns fn(row, ctx) → value; NULL is None and boolean
logic is three-valued.

Separate from the node definitions: the binder and planner build and rewrite
nodes; the executor runs what this module makes of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql.expr import (
    AggCall,
    ArrayCtor,
    BoolOp,
    Call,
    Case,
    Cast,
    Coalesce,
    Col,
    Const,
    Expr,
    InList,
    IsBool,
    IsNull,
    Not,
    OuterRef,
    Param,
    Record,
    RowCtor,
    SrfCall,
    SubqueryExpr,
    WindowCall,
)

Compiled = Callable[[tuple, Any], Any]


def compile_expr(e: Expr) -> Compiled:
    f = _COMPILERS.get(type(e))
    if f is None:
        raise errors.InternalError(f"cannot compile {type(e).__name__}")
    return f(e)


def _c_const(e: Const) -> Compiled:
    v = e.value
    return lambda row, ctx: v


def _c_param(e: Param) -> Compiled:
    i = e.index
    return lambda row, ctx: ctx.params[i]


def _c_col(e: Col) -> Compiled:
    i = e.index
    return lambda row, ctx: row[i]


def _c_outer(e: OuterRef) -> Compiled:
    i = e.index
    return lambda row, ctx: ctx.outer[-1][i]


def _c_call(e: Call) -> Compiled:
    fn = e.fn
    args = [compile_expr(a) for a in e.args]
    n = len(args)
    if e.needs_ctx:
        if e.strict:
            def call_ctx_strict(row: tuple, ctx: Any) -> Any:
                vals = []
                for a in args:
                    v = a(row, ctx)
                    if v is None:
                        return None
                    vals.append(v)
                return fn(ctx, *vals)
            return call_ctx_strict
        return lambda row, ctx: fn(ctx, *[a(row, ctx) for a in args])
    if not e.strict:
        return lambda row, ctx: fn(*[a(row, ctx) for a in args])
    if n == 0:
        return lambda row, ctx: fn()
    if n == 1:
        a0 = args[0]

        def call1(row: tuple, ctx: Any) -> Any:
            v = a0(row, ctx)
            return None if v is None else fn(v)
        return call1
    if n == 2:
        x0, x1 = e.args
        if type(x0) is Col and type(x1) in (Col, Const):
            return _call_col(fn, x0.index, x1)
        a0, a1 = args

        def call2(row: tuple, ctx: Any) -> Any:
            x = a0(row, ctx)
            if x is None:
                return None
            y = a1(row, ctx)
            if y is None:
                return None
            return fn(x, y)
        return call2

    def calln(row: tuple, ctx: Any) -> Any:
        vals = []
        for a in args:
            v = a(row, ctx)
            if v is None:
                return None
            vals.append(v)
        return fn(*vals)
    return calln


def _call_col(fn: Callable[..., Any], i: int, other: Expr) -> Compiled:
    """A strict binary call on a column and a constant or second column
    (filters and join conditions): no closure calls for the operands."""
    if type(other) is Const:
        c = other.value
        if c is None:
            return lambda row, ctx: None

        def col_const(row: tuple, ctx: Any) -> Any:
            x = row[i]
            return None if x is None else fn(x, c)
        return col_const
    j = other.index  # type: ignore[attr-defined]

    def col_col(row: tuple, ctx: Any) -> Any:
        x = row[i]
        if x is None:
            return None
        y = row[j]
        return None if y is None else fn(x, y)
    return col_col


def _c_cast(e: Cast) -> Compiled:
    a = compile_expr(e.arg)
    fn = e.fn

    def cast(row: tuple, ctx: Any) -> Any:
        v = a(row, ctx)
        return None if v is None else fn(v, ctx)
    return cast


def _c_boolop(e: BoolOp) -> Compiled:
    args = [compile_expr(a) for a in e.args]
    if e.op == "and":
        if len(args) == 2:
            a0, a1 = args

            def and2(row: tuple, ctx: Any) -> Any:
                x = a0(row, ctx)
                if x is False:
                    return False
                y = a1(row, ctx)
                if y is False:
                    return False
                if x is None or y is None:
                    return None
                return True
            return and2

        def and_(row: tuple, ctx: Any) -> Any:
            null = False
            for a in args:
                v = a(row, ctx)
                if v is False:
                    return False
                if v is None:
                    null = True
            return None if null else True
        return and_

    def or_(row: tuple, ctx: Any) -> Any:
        null = False
        for a in args:
            v = a(row, ctx)
            if v is True:
                return True
            if v is None:
                null = True
        return None if null else False
    return or_


def _c_not(e: Not) -> Compiled:
    a = compile_expr(e.arg)

    def not_(row: tuple, ctx: Any) -> Any:
        v = a(row, ctx)
        return None if v is None else not v
    return not_


def _c_isnull(e: IsNull) -> Compiled:
    a = compile_expr(e.arg)
    if isinstance(e.arg, RowCtor):
        # row IS NULL: all fields null; IS NOT NULL: all fields non-null
        if e.negate:
            return lambda row, ctx: all(x is not None for x in a(row, ctx))
        return lambda row, ctx: all(x is None for x in a(row, ctx))
    if e.negate:
        return lambda row, ctx: a(row, ctx) is not None
    return lambda row, ctx: a(row, ctx) is None


def _c_isbool(e: IsBool) -> Compiled:
    a = compile_expr(e.arg)
    target = e.value
    neg = e.negate

    def isbool(row: tuple, ctx: Any) -> bool:
        v = a(row, ctx)
        r = (v is None) if target is None else (v is target)
        return not r if neg else r
    return isbool


def _c_case(e: Case) -> Compiled:
    whens = [(compile_expr(c), compile_expr(r)) for c, r in e.whens]
    default = compile_expr(e.default) if e.default is not None else None

    def case(row: tuple, ctx: Any) -> Any:
        for c, r in whens:
            if c(row, ctx) is True:
                return r(row, ctx)
        return default(row, ctx) if default is not None else None
    return case


def _c_coalesce(e: Coalesce) -> Compiled:
    args = [compile_expr(a) for a in e.args]

    def coalesce(row: tuple, ctx: Any) -> Any:
        for a in args:
            v = a(row, ctx)
            if v is not None:
                return v
        return None
    return coalesce


def _c_inlist(e: InList) -> Compiled:
    a = compile_expr(e.arg)
    eq = e.eq
    neg = e.negate
    if all(isinstance(i, Const) for i in e.items):
        values = [i.value for i in e.items]  # type: ignore[attr-defined]
        has_null = any(v is None for v in values)
        try:
            lookup = frozenset(v for v in values if v is not None)
            hashable = all(eq(v, v) is True for v in lookup)
        except TypeError:
            hashable = False
        if hashable and e.arg.type.oid not in (T.FLOAT4.oid, T.FLOAT8.oid, T.BPCHAR.oid,
                                               T.INTERVAL.oid) and \
                all(i.type.oid == e.arg.type.oid for i in e.items if i.value is not None):
            def in_set(row: tuple, ctx: Any) -> Any:
                v = a(row, ctx)
                if v is None:
                    return None
                if v in lookup:
                    return not neg
                return None if has_null else neg
            return in_set
    items = [compile_expr(i) for i in e.items]

    def in_list(row: tuple, ctx: Any) -> Any:
        v = a(row, ctx)
        if v is None:
            return None
        null = False
        for it in items:
            w = it(row, ctx)
            if w is None:
                null = True
                continue
            r = eq(v, w)
            if r is True:
                return not neg
            if r is None:
                null = True
        return None if null else neg
    return in_list


def _c_array(e: ArrayCtor) -> Compiled:
    elems = [compile_expr(x) for x in e.elems]
    return lambda row, ctx: [x(row, ctx) for x in elems]


def _c_row(e: RowCtor) -> Compiled:
    elems = [compile_expr(x) for x in e.elems]
    if e.names is not None:
        names = tuple(e.names)
        types = tuple(x.type for x in e.elems)
        return lambda row, ctx: Record([x(row, ctx) for x in elems], names, types)
    return lambda row, ctx: tuple(x(row, ctx) for x in elems)


def _c_subquery(e: SubqueryExpr) -> Compiled:
    from aiondb.sql.exec_subquery import compile_subquery
    return compile_subquery(e)


def _c_unbound(e: Expr) -> Compiled:
    if isinstance(e, AggCall):
        raise errors.GroupingError("aggregate functions are not allowed here")
    raise errors.WindowingError("window functions are not allowed here")


_COMPILERS: dict[type, Callable[[Any], Compiled]] = {
    Const: _c_const, Param: _c_param, Col: _c_col, OuterRef: _c_outer, Call: _c_call,
    Cast: _c_cast, BoolOp: _c_boolop, Not: _c_not, IsNull: _c_isnull, IsBool: _c_isbool,
    Case: _c_case, Coalesce: _c_coalesce, InList: _c_inlist, ArrayCtor: _c_array,
    RowCtor: _c_row, SubqueryExpr: _c_subquery, AggCall: _c_unbound, WindowCall: _c_unbound,
    SrfCall: _c_unbound,
}
