"""Typed expression trees shaped like PostgreSQL's analysed expressions, built
from our stored SQL text, so that deparse.py can print them exactly as
PostgreSQL's ruleutils.c does (pg_get_expr, pg_get_constraintdef,
pg_get_viewdef). PostgreSQL prints what parse analysis made of an expression:
the operator it picked, the implicit casts it inserted, literals folded to
typed constants. `Analyzer` redoes that analysis for the common cases."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiondb import errors
from aiondb import types as T

UNKNOWN = T.UNKNOWN


@dataclass
class Node:
    type: T.SqlType = field(default=UNKNOWN, kw_only=True)


@dataclass
class Var(Node):
    name: str
    qualifier: str | None = None


@dataclass
class Const(Node):
    text: str | None          # output-function text; None is NULL


@dataclass
class Coerce(Node):
    """A cast: kind 'func' (FuncExpr), 'relabel' (binary coercible) or 'io'."""

    arg: Node
    explicit: bool
    kind: str = "func"


@dataclass
class Func(Node):
    name: str
    args: list[Node]
    star: bool = False
    distinct: bool = False
    agg_filter: Node | None = None
    agg: bool = False


@dataclass
class SqlSyntax(Node):
    """Functions PostgreSQL prints in SQL-standard syntax (EXTRACT, TRIM...),
    as a template with {0}, {1}... for the arguments."""

    template: str
    args: list[Node]


@dataclass
class Op(Node):
    op: str
    left: Node | None          # None for a prefix operator
    right: Node


@dataclass
class BoolExpr(Node):
    kind: str                  # AND | OR | NOT
    args: list[Node]


@dataclass
class Test(Node):
    """NullTest / BooleanTest: `arg IS [NOT] NULL|TRUE|FALSE|UNKNOWN`."""

    arg: Node
    what: str


@dataclass
class Distinct(Node):
    left: Node
    right: Node


@dataclass
class ArrayOp(Node):
    op: str
    use_or: bool
    left: Node
    right: Node


@dataclass
class ArrayExpr(Node):
    elems: list[Node]


@dataclass
class Case(Node):
    arg: Node | None
    whens: list[tuple[Node, Node]]
    default: Node | None


@dataclass
class Coalesce(Node):
    name: str                  # COALESCE | GREATEST | LEAST | NULLIF
    args: list[Node]


@dataclass
class SqlValue(Node):
    keyword: str               # CURRENT_TIMESTAMP, CURRENT_USER ...


@dataclass
class Subscript(Node):
    arg: Node
    index: list[Node]


@dataclass
class SubLink(Node):
    """A subquery in an expression: EXISTS, IN / op ANY, or scalar. `query`
    prints the subquery into a printer at its current indentation."""

    kind: str                          # EXISTS | ANY | EXPR
    query: Callable[[Any], None]
    test: Node | None = None
    op: str = "="


@dataclass
class Window(Node):
    """A window function call: func OVER (PARTITION BY ... ORDER BY ... frame)."""

    func: Node
    partition: list[Node]
    order: list[tuple[Node, bool, bool | None]]   # (expr, desc, nulls_first)
    frame: str = ""


@dataclass
class Raw(Node):
    text: str


class Unsupported(Exception):
    """An expression we cannot analyse; callers fall back to the stored text."""


# --- operator and cast rules (PostgreSQL 15's pg_operator / pg_cast, for our types) ------------------

_INTS = (T.INT2.oid, T.INT4.oid, T.INT8.oid)
_NUM_RANK = {T.INT2.oid: 1, T.INT4.oid: 2, T.INT8.oid: 3, T.NUMERIC.oid: 4, T.FLOAT4.oid: 5,
             T.FLOAT8.oid: 6}
_COMPARE = ("=", "<>", "<", ">", "<=", ">=")
_ARITH = ("+", "-", "*", "/", "%", "^")
_STRINGISH = (T.TEXT.oid, T.VARCHAR.oid, T.BPCHAR.oid, T.NAME.oid)
# types with no operators of their own: they borrow text's through a relabel
_AS_TEXT = (T.VARCHAR.oid,)
_DATETIMES = (T.DATE.oid, T.TIMESTAMP.oid, T.TIMESTAMPTZ.oid)


def cast_kind(src: T.SqlType, dst: T.SqlType) -> str:
    if src.oid in _STRINGISH and dst.oid in (T.TEXT.oid, T.VARCHAR.oid):
        return "relabel" if src.oid != T.BPCHAR.oid else "func"
    if src.oid in (T.TEXT.oid, T.VARCHAR.oid) and dst.oid == T.BPCHAR.oid:
        return "relabel"
    if (src.oid in _STRINGISH) != (dst.oid in _STRINGISH):
        return "io"
    return "func"


def coerce(node: Node, target: T.SqlType, explicit: bool = False) -> Node:
    """PostgreSQL's coerce_type: an unknown literal becomes a constant of the
    target type; anything else gets a cast node, unless already that type."""
    if isinstance(node, Const) and node.type.oid == UNKNOWN.oid:
        const = Const(node.text, type=target.base if not explicit else target.base)
        if explicit and target.typmod != -1:
            return Coerce(const, explicit=True, type=target)
        return const
    if node.type.oid == target.oid and (target.typmod == -1 or node.type.typmod ==
                                        target.typmod) and _same_elem(node.type, target):
        return node
    if node.type.oid == UNKNOWN.oid and not isinstance(node, Const):
        return node
    return Coerce(node, explicit, cast_kind(node.type, target), type=target)


def _same_elem(a: T.SqlType, b: T.SqlType) -> bool:
    return (a.elem is None) == (b.elem is None) and (
        a.elem is None or b.elem is None or a.elem.oid == b.elem.oid)


def common_type(types: list[T.SqlType]) -> T.SqlType:
    """select_common_type, reduced to the cases our types need."""
    known = [t for t in types if t.oid != UNKNOWN.oid]
    if not known:
        return T.TEXT
    first = known[0]
    if all(t.oid == first.oid for t in known):
        return first.base if any(t.typmod != first.typmod for t in known) else first
    if all(t.oid in _NUM_RANK for t in known):
        return max(known, key=lambda t: _NUM_RANK[t.oid]).base
    if all(t.oid in _STRINGISH for t in known):
        return T.TEXT
    if all(t.oid in _DATETIMES for t in known):
        return T.TIMESTAMPTZ if any(t.oid == T.TIMESTAMPTZ.oid for t in known) else \
            T.TIMESTAMP
    return first


# json(b) operators: the type of an unknown right operand and the result
# type (None: the left operand's)
_JSON_OPS: dict[str, tuple[T.SqlType, T.SqlType | None]] = {
    "->": (T.TEXT, None), "->>": (T.TEXT, T.TEXT), "#>": (T.TEXT.array_of(), None),
    "#>>": (T.TEXT.array_of(), T.TEXT), "?": (T.TEXT, T.BOOL),
    "?|": (T.TEXT.array_of(), T.BOOL), "?&": (T.TEXT.array_of(), T.BOOL),
}


def resolve_binary(op: str, left: Node, right: Node) -> tuple[Node, Node, T.SqlType]:
    """Operator selection for a binary operator: (left, right) with the
    implicit casts PostgreSQL would add, and the result type."""
    lt, rt = left.type, right.type
    unknown_l, unknown_r = lt.oid == UNKNOWN.oid, rt.oid == UNKNOWN.oid
    if op == "||":
        for side in ("l", "r"):
            t = lt if side == "l" else rt
            if t.oid == UNKNOWN.oid or t.oid in _AS_TEXT:
                if side == "l":
                    left = coerce(left, T.TEXT)
                else:
                    right = coerce(right, T.TEXT)
        if lt.elem is not None or rt.elem is not None:
            return left, right, lt if lt.elem is not None else rt
        return left, right, T.TEXT
    if op in ("~~", "!~~", "~~*", "!~~*", "~", "!~", "~*", "!~*"):
        target = T.BPCHAR if lt.oid == T.BPCHAR.oid else (
            T.NAME if lt.oid == T.NAME.oid else T.TEXT)
        right = coerce(right, T.TEXT if target.oid != T.NAME.oid else T.TEXT)
        return coerce(left, target), right, T.BOOL
    if lt.oid in (T.JSON.oid, T.JSONB.oid) and op in _JSON_OPS:
        # jsonb -> text, #> text[], ? text ...: an unknown key is text (an
        # integer stays int4: -> 0 picks an array element)
        key_t, result_t = _JSON_OPS[op]
        if unknown_r:
            right = coerce(right, key_t)
        return left, right, lt if result_t is None else result_t
    if unknown_l and not unknown_r:
        lt = rt
        left = coerce(left, rt.base if rt.oid not in _AS_TEXT else T.TEXT)
    elif unknown_r and not unknown_l:
        right = coerce(right, lt.base if lt.oid not in _AS_TEXT else T.TEXT)
        rt = lt
    result = T.BOOL if op in _COMPARE else None
    if lt.oid in _AS_TEXT or rt.oid in _AS_TEXT or (lt.oid in _STRINGISH and rt.oid in
                                                    _STRINGISH and lt.oid != rt.oid):
        if lt.oid in _STRINGISH and rt.oid in _STRINGISH:
            left, right = coerce(left, T.TEXT), coerce(right, T.TEXT)
            return left, right, result or T.TEXT
    if lt.oid in _NUM_RANK and rt.oid in _NUM_RANK and lt.oid != rt.oid:
        both_int = lt.oid in _INTS and rt.oid in _INTS
        floats = {lt.oid, rt.oid} == {T.FLOAT4.oid, T.FLOAT8.oid}
        if both_int and op != "%" or floats:
            wider = lt if _NUM_RANK[lt.oid] >= _NUM_RANK[rt.oid] else rt
            return left, right, result or wider.base
        target = T.FLOAT8 if T.FLOAT4.oid in (lt.oid, rt.oid) and \
            T.FLOAT8.oid not in (lt.oid, rt.oid) and op in _COMPARE + _ARITH and \
            (lt.oid in _INTS or rt.oid in _INTS) else \
            max((lt, rt), key=lambda t: _NUM_RANK[t.oid]).base
        if target.oid == T.FLOAT8.oid and T.FLOAT4.oid in (lt.oid, rt.oid):
            # int vs real: PostgreSQL casts the integer to double precision and
            # uses the float84 / float48 cross-type operator
            left = left if lt.oid == T.FLOAT4.oid else coerce(left, target)
            right = right if rt.oid == T.FLOAT4.oid else coerce(right, target)
            return left, right, result or target
        return coerce(left, target), coerce(right, target), result or target
    if lt.oid in _DATETIMES and rt.oid in _DATETIMES:
        return left, right, result or lt
    if result is None:
        if lt.oid in _DATETIMES and rt.oid == T.INTERVAL.oid:
            result = T.TIMESTAMP if lt.oid == T.DATE.oid else lt
        elif lt.oid == T.DATE.oid and rt.oid in _INTS:
            result = T.DATE
        elif lt.oid == rt.oid == T.DATE.oid and op == "-":
            result = T.INT4
        elif lt.oid in _DATETIMES and lt.oid == rt.oid and op == "-":
            result = T.INTERVAL
        else:
            result = _engine_operator_type(op, lt, rt)
    return left, right, result


def _engine_operator_type(op: str, lt: T.SqlType, rt: T.SqlType) -> T.SqlType:
    from aiondb.sql.functions import resolve_operator
    try:
        return resolve_operator(op, [lt, rt])[2]
    except errors.DatabaseError:
        return lt if lt.oid != UNKNOWN.oid else rt


def function_type(name: str, args: list[Node]) -> tuple[list[Node], T.SqlType]:
    """Arguments with PostgreSQL's implicit casts, and the return type, from
    the engine's function registry (which declares PostgreSQL's signatures)."""
    from aiondb.sql.functions import FUNCTIONS, resolve_function
    if name not in FUNCTIONS:
        return args, UNKNOWN
    try:
        d, resolved, ret = resolve_function(name, [a.type for a in args])
    except errors.DatabaseError:
        return args, UNKNOWN
    declared = list(d.args) + [d.variadic] * (len(args) - len(d.args))
    out = []
    for a, r, decl in zip(args, resolved, declared, strict=False):
        out.append(coerce(a, r) if isinstance(decl, T.SqlType) or a.type.oid ==
                   UNKNOWN.oid else a)
    return out, ret if isinstance(ret, T.SqlType) else UNKNOWN

