"""Matching a scan's conditions to indexes: which conjuncts compare an
indexed column or index expression with a value the scan can compute
first, and whether a partial index's predicate follows from the conditions.
Expressions are compared by structure, not by how they were written."""

from __future__ import annotations

import dataclasses
from typing import Any

from aiondb import types as T
from aiondb.sql.expr import BoolOp, Call, Cast, Col, Const, Expr, IsNull, SubqueryExpr, walk
from aiondb.storage.catalog import IndexDef, TableDef

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}
_LOOKUP_UNSAFE = frozenset((T.BPCHAR.oid, T.FLOAT4.oid, T.FLOAT8.oid, T.JSONB.oid,
                            T.JSON.oid, T.RECORD.oid))


def canon(e: Expr) -> Any:
    """A hashable structural key: equal for the same computation over the
    same row positions, whatever the names or aliases used."""
    if isinstance(e, Col):
        return ("col", e.index)
    if isinstance(e, Const):
        return ("const", e.type.oid, repr(e.value))
    if isinstance(e, Call):
        return ("call", e.name, id(e.fn), tuple(canon(a) for a in e.args))
    if isinstance(e, Cast):     # its conversion function may be built per use
        return ("cast", e.type.oid, e.type.typmod, canon(e.arg))
    parts: list[Any] = [type(e).__name__]
    if dataclasses.is_dataclass(e):
        for f in dataclasses.fields(e):
            v = getattr(e, f.name)
            if isinstance(v, Expr):
                parts.append(canon(v))
            elif isinstance(v, list):
                parts.append(tuple(canon(x) if isinstance(x, Expr) else repr(x) for x in v))
            elif isinstance(v, T.SqlType):
                parts.append((v.oid, v.typmod))
            elif callable(v):
                parts.append(id(v))
            else:
                parts.append(repr(v))
    return tuple(parts)


def columns_used(e: Expr) -> set[int]:
    return {n.index for n in walk(e) if isinstance(n, Col)}


def has_volatile_or_subquery(e: Expr) -> bool:
    return any(isinstance(n, SubqueryExpr) or (isinstance(n, Call) and n.volatile)
               for n in walk(e))


def key_side(c: Expr, ncols: int) -> tuple[Expr, Expr, str] | None:
    """(indexed side, key, operator) for `expr op key`: expr reads only the
    table's columns (positions below ncols), key reads none (a constant,
    parameter or outer reference)."""
    if not isinstance(c, Call) or len(c.args) != 2 or c.name not in _FLIP:
        return None
    a, b = c.args
    for x, y, op in ((a, b, c.name), (b, a, _FLIP[c.name])):
        used = columns_used(x)
        if used and max(used) < ncols and not columns_used(y) and \
                not has_volatile_or_subquery(y) and not has_volatile_or_subquery(x):
            return x, y, op
    return None


def usable(col_type: T.SqlType, key: Expr) -> bool:
    """Whether index keys of col_type compare with key values as the
    operator does (no lookups through lossy or collation-sensitive types)."""
    if col_type.oid in _LOOKUP_UNSAFE or col_type.elem is not None:
        return False
    kt = key.type
    if kt.oid == col_type.oid:
        return True
    ints = T.INTEGER_TYPES | {T.NUMERIC.oid}
    if col_type.oid in ints and kt.oid in ints:
        return True
    return col_type.category == kt.category == "S"


def index_slots(table: TableDef, idx: IndexDef) -> tuple[list[Expr], Expr | None]:
    """An index's key slots as expressions over the table's row, and its
    predicate."""
    if not idx.exprs and not idx.predicate:
        return [Col(table.position(a), table.columns[table.position(a)].type)
                for a in idx.attnums], None
    from aiondb.sql.index_keys import bind_index
    b = bind_index(table, idx)
    return b.slots, b.predicate


def _conjuncts(e: Expr) -> list[Expr]:
    if isinstance(e, BoolOp) and e.op == "and":
        return [x for a in e.args for x in _conjuncts(a)]
    return [e]


def predicate_implied(pred: Expr | None, parts: list[Expr]) -> set[int] | None:
    """None if the conditions (parts) do not imply a partial index's
    predicate; else the conjuncts that repeat it (the index makes them true)."""
    if pred is None:
        return set()
    where = {canon(p): i for i, p in enumerate(parts)}
    used: set[int] = set()
    for pc in _conjuncts(pred):
        i = where.get(canon(pc))
        if i is not None:
            used.add(i)
            continue
        # `x IS NOT NULL` follows from a comparison of x (comparisons are strict)
        if isinstance(pc, IsNull) and pc.negate:
            target = canon(pc.arg)
            if any(isinstance(p, Call) and p.name in _FLIP and
                   any(canon(a) == target for a in p.args) for p in parts):
                continue
        return None
    return used
