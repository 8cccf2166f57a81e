"""Bound (typed) expressions: the nodes the binder builds.

The binder turns sqlglot syntax into these nodes; every node knows its SQL
type, so RowDescription and parameter types are known before execution.
Nodes are plain values (dataclasses) so optimizer passes can compare and
rewrite them. Their compilation to closures is in expr_compile.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiondb import types as T


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
