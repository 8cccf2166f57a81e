"""Bound (typed) expressions and their compilation to closures.

The binder turns sqlglot syntax into these nodes; every node knows its SQL
type, so RowDescription and parameter types are known before execution.
`compile_expr(node)` returns fn(row, ctx) → value; NULL is None and boolean
logic is three-valued. Nodes are plain values (dataclasses) so optimizer
passes can compare and rewrite them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiondb import errors
from aiondb import types as T

Compiled = Callable[[tuple, Any], Any]


class Expr:
    type: T.SqlType

    def children(self) -> list[Expr]:
        return []

    def replace_children(self, kids: list[Expr]) -> Expr:
        return self


@dataclass(eq=True)
class Const(Expr):
    value: Any
    type: T.SqlType
    # a string literal's AST node: an error in reading it as a type points there
    src: Any = field(default=None, compare=False, repr=False)

    def __hash__(self) -> int:
        return hash((self.type.oid, repr(self.value)))


@dataclass(eq=True, frozen=True)
class Param(Expr):
    index: int          # 0-based ($1 is 0)
    type: T.SqlType


@dataclass(eq=True, frozen=True)
class Col(Expr):
    index: int          # position in the input row
    type: T.SqlType
    name: str = field(default="", compare=False)


@dataclass(eq=True, frozen=True)
class OuterRef(Expr):
    """Correlation value k of the enclosing subquery's outer row."""

    index: int
    type: T.SqlType


@dataclass(eq=False)
class Call(Expr):
    name: str
    args: list[Expr]
    type: T.SqlType
    fn: Callable[..., Any]
    strict: bool = True
    needs_ctx: bool = False
    volatile: bool = False

    def children(self) -> list[Expr]:
        return self.args

    def replace_children(self, kids: list[Expr]) -> Expr:
        return Call(self.name, kids, self.type, self.fn, self.strict, self.needs_ctx,
                    self.volatile)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Call) and self.name == other.name and self.fn is other.fn
                and self.args == other.args)

    def __hash__(self) -> int:
        return hash((self.name, len(self.args)))


@dataclass(eq=True)
class Cast(Expr):
    arg: Expr
    type: T.SqlType
    fn: Callable[[Any, Any], Any] = field(compare=False)

    def children(self) -> list[Expr]:
        return [self.arg]

    def replace_children(self, kids: list[Expr]) -> Expr:
        return Cast(kids[0], self.type, self.fn)

    def __hash__(self) -> int:
        return hash(("cast", self.type.oid))


@dataclass(eq=True)
class BoolOp(Expr):
    op: str             # 'and' | 'or'
    args: list[Expr]
    type: T.SqlType = T.BOOL

    def children(self) -> list[Expr]:
        return self.args

    def replace_children(self, kids: list[Expr]) -> Expr:
        return BoolOp(self.op, kids)

    def __hash__(self) -> int:
        return hash(("bool", self.op, len(self.args)))


@dataclass(eq=True)
class Not(Expr):
    arg: Expr
    type: T.SqlType = T.BOOL

    def children(self) -> list[Expr]:
        return [self.arg]

    def replace_children(self, kids: list[Expr]) -> Expr:
        return Not(kids[0])

    def __hash__(self) -> int:
        return hash("not")


@dataclass(eq=True)
class IsNull(Expr):
    arg: Expr
    negate: bool = False
    type: T.SqlType = T.BOOL

    def children(self) -> list[Expr]:
        return [self.arg]

    def replace_children(self, kids: list[Expr]) -> Expr:
        return IsNull(kids[0], self.negate)

    def __hash__(self) -> int:
        return hash(("isnull", self.negate))


@dataclass(eq=True)
class IsBool(Expr):
    """x IS [NOT] TRUE / FALSE / UNKNOWN (never NULL)."""

    arg: Expr
    value: bool | None
    negate: bool = False
    type: T.SqlType = T.BOOL

    def children(self) -> list[Expr]:
        return [self.arg]

    def replace_children(self, kids: list[Expr]) -> Expr:
        return IsBool(kids[0], self.value, self.negate)

    def __hash__(self) -> int:
        return hash(("isbool", self.value, self.negate))


@dataclass(eq=True)
class Case(Expr):
    whens: list[tuple[Expr, Expr]]
    default: Expr | None
    type: T.SqlType

    def children(self) -> list[Expr]:
        out: list[Expr] = []
        for c, r in self.whens:
            out += [c, r]
        if self.default is not None:
            out.append(self.default)
        return out

    def replace_children(self, kids: list[Expr]) -> Expr:
        n = len(self.whens)
        whens = [(kids[2 * i], kids[2 * i + 1]) for i in range(n)]
        default = kids[2 * n] if self.default is not None else None
        return Case(whens, default, self.type)

    def __hash__(self) -> int:
        return hash(("case", len(self.whens)))


@dataclass(eq=True)
class Coalesce(Expr):
    args: list[Expr]
    type: T.SqlType

    def children(self) -> list[Expr]:
        return self.args

    def replace_children(self, kids: list[Expr]) -> Expr:
        return Coalesce(kids, self.type)

    def __hash__(self) -> int:
        return hash(("coalesce", len(self.args)))


@dataclass(eq=False)
class InList(Expr):
    """arg [NOT] IN (items): `eq` is the compiled equality for the types."""

    arg: Expr
    items: list[Expr]
    negate: bool
    eq: Callable[[Any, Any], Any]
    type: T.SqlType = T.BOOL

    def children(self) -> list[Expr]:
        return [self.arg] + self.items

    def replace_children(self, kids: list[Expr]) -> Expr:
        return InList(kids[0], kids[1:], self.negate, self.eq)


@dataclass(eq=False)
class SubqueryExpr(Expr):
    """A subquery in an expression. kind: scalar | exists | array | any | all.
    `corr` are outer-row expressions passed to the subquery (OuterRef k reads
    the k-th); for any/all, `arg` is compared with `cmp`."""

    kind: str
    plan: Any
    corr: list[Expr]
    type: T.SqlType
    arg: Expr | None = None
    cmp: Callable[[Any, Any], Any] | None = None
    negate: bool = False

    def children(self) -> list[Expr]:
        return list(self.corr) + ([self.arg] if self.arg is not None else [])

    def replace_children(self, kids: list[Expr]) -> Expr:
        n = len(self.corr)
        return SubqueryExpr(self.kind, self.plan, kids[:n], self.type,
                            kids[n] if self.arg is not None else None, self.cmp, self.negate)


@dataclass(eq=True)
class ArrayCtor(Expr):
    elems: list[Expr]
    type: T.SqlType

    def children(self) -> list[Expr]:
        return self.elems

    def replace_children(self, kids: list[Expr]) -> Expr:
        return ArrayCtor(kids, self.type)

    def __hash__(self) -> int:
        return hash(("array", len(self.elems)))


class Record(tuple):
    """A row value that knows its field names and types (a whole-row
    reference such as `t` in `SELECT row_to_json(t) FROM t`); a plain tuple
    is an anonymous ROW(...)."""

    names: tuple[str, ...] = ()
    types: tuple[T.SqlType, ...] = ()

    def __new__(cls, values: Any, names: tuple[str, ...],
                types: tuple[T.SqlType, ...]) -> Record:
        r = super().__new__(cls, values)
        r.names = names
        r.types = types
        return r


@dataclass(eq=True)
class RowCtor(Expr):
    elems: list[Expr]
    type: T.SqlType = T.RECORD
    names: list[str] | None = None   # field names of a whole-row reference

    def children(self) -> list[Expr]:
        return self.elems

    def replace_children(self, kids: list[Expr]) -> Expr:
        return RowCtor(kids, self.type, self.names)

    def __hash__(self) -> int:
        return hash(("row", len(self.elems)))


@dataclass(eq=False)
class SrfCall(Expr):
    """A set-returning function in a select list; a ProjectSet stage runs it
    and the binder replaces it with the stage's output column."""

    name: str
    args: list[Expr]
    type: T.SqlType
    impl: Any                   # functions.SrfDef
    columns: list[tuple[str, T.SqlType]]

    def children(self) -> list[Expr]:
        return self.args

    def replace_children(self, kids: list[Expr]) -> Expr:
        return SrfCall(self.name, kids, self.type, self.impl, self.columns)


@dataclass(eq=False)
class AggCall(Expr):
    """An aggregate call, before the binder turns it into a column of the
    Aggregate node's output."""

    name: str
    args: list[Expr]
    type: T.SqlType
    impl: Any                   # aggregates.AggregateDef
    distinct: bool = False
    filter: Expr | None = None
    order: list[tuple[Expr, bool, bool]] = field(default_factory=list)
    star: bool = False

    def children(self) -> list[Expr]:
        return list(self.args) + ([self.filter] if self.filter is not None else []) + \
            [o[0] for o in self.order]

    def replace_children(self, kids: list[Expr]) -> Expr:
        n = len(self.args)
        args = kids[:n]
        k = n
        flt = None
        if self.filter is not None:
            flt = kids[k]
            k += 1
        order = [(kids[k + i], o[1], o[2]) for i, o in enumerate(self.order)]
        return AggCall(self.name, args, self.type, self.impl, self.distinct, flt, order,
                       self.star)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, AggCall) and self.name == other.name
                and self.args == other.args and self.distinct == other.distinct
                and self.filter == other.filter and self.order == other.order
                and self.star == other.star)

    def __hash__(self) -> int:
        return hash(("agg", self.name, len(self.args)))


@dataclass(eq=False)
class WindowCall(Expr):
    name: str
    args: list[Expr]
    type: T.SqlType
    impl: Any
    partition: list[Expr]
    order: list[tuple[Expr, bool, bool]]
    frame: Any = None             # (mode, start, end) or None for the default
    filter: Expr | None = None
    is_aggregate: bool = False

    def children(self) -> list[Expr]:
        return list(self.args) + list(self.partition) + [o[0] for o in self.order] + \
            ([self.filter] if self.filter is not None else [])

    def replace_children(self, kids: list[Expr]) -> Expr:
        a = len(self.args)
        p = len(self.partition)
        o = len(self.order)
        args = kids[:a]
        part = kids[a:a + p]
        order = [(kids[a + p + i], x[1], x[2]) for i, x in enumerate(self.order)]
        flt = kids[a + p + o] if self.filter is not None else None
        return WindowCall(self.name, args, self.type, self.impl, part, order, self.frame, flt,
                          self.is_aggregate)


def walk(e: Expr):
    yield e
    for c in e.children():
        yield from walk(c)


def transform(e: Expr, fn: Callable[[Expr], Expr | None]) -> Expr:
    """Rewrite bottom-up: fn returns a replacement or None to keep the node."""
    r = fn(e)
    if r is not None:
        return r
    kids = e.children()
    if not kids:
        return e
    new = [transform(k, fn) for k in kids]
    if all(a is b for a, b in zip(new, kids, strict=True)):
        return e
    return e.replace_children(new)


def is_constant(e: Expr) -> bool:
    """No columns, outer refs, params, subqueries or volatile calls."""
    for n in walk(e):
        if isinstance(n, (Col, OuterRef, Param, SubqueryExpr, AggCall, WindowCall, SrfCall)):
            return False
        if isinstance(n, Call) and n.volatile:
            return False
    return True


# --- compilation --------------------------------------------------------------------------------

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
