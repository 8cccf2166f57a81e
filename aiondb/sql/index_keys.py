"""Expression and partial indexes: their key expressions and predicates are
SQL text in the catalog (IndexDef.exprs / IndexDef.predicate). Here they
are bound over the table's row and compiled, for the storage layer's key
functions and for the planner, which matches query conditions against them.

Index expressions must be immutable, so they are bound and run without a
session: UTC, no parameters, no transaction."""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql.expr import (
    AggCall,
    Call,
    Cast,
    Col,
    Const,
    Expr,
    Param,
    SrfCall,
    SubqueryExpr,
    WindowCall,
    walk,
)
from aiondb.sql.expr_compile import compile_expr
from aiondb.storage.catalog import IndexDef, TableDef
from aiondb.storage.table import NOT_INDEXED, NULL_KEY

_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


class _NoSession:
    """What binding and constant folding need from a session, for
    expressions that may not depend on one."""

    tz = dt.UTC

    def statement_time(self) -> dt.datetime:
        return _EPOCH

    def const_context(self) -> Any:
        from aiondb.sql.exec_base import ExecContext
        return ExecContext(None, self, [], None, dt.UTC, _EPOCH, _EPOCH)


_NO_SESSION = _NoSession()


class BoundIndex:
    """An index's key slots as expressions over the table's row (a Col for a
    plain column) and its predicate's conjuncts."""

    def __init__(self, slots: list[Expr], predicate: Expr | None) -> None:
        self.slots = slots
        self.predicate = predicate


_BOUND: OrderedDict[tuple, BoundIndex] = OrderedDict()
_KEY_FNS: OrderedDict[tuple, Callable[[tuple], Any]] = OrderedDict()
_CACHE_SIZE = 512


def _cache_key(table: TableDef, idx: IndexDef) -> tuple:
    layout = tuple((c.name, c.type.oid, c.type.typmod) for c in table.columns)
    return (table.oid, layout, idx.attnums, idx.exprs, idx.predicate)


def _remember(cache: OrderedDict, key: tuple, value: Any) -> Any:
    cache[key] = value
    if len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)
    return value


def bind_index(table: TableDef, idx: IndexDef) -> BoundIndex:
    key = _cache_key(table, idx)
    hit = _BOUND.get(key)
    if hit is not None:
        _BOUND.move_to_end(key)
        return hit
    from aiondb.sql.bind_dml import parse_expression
    binder, scope = _binder_for(table)
    exprs = iter(idx.exprs)
    slots: list[Expr] = []
    for a in idx.attnums:
        if a:
            pos = table.position(a)
            c = table.columns[pos]
            slots.append(Col(pos, c.type, c.name))
        else:
            slots.append(binder.expr(parse_expression(next(exprs)), scope))
    pred = None
    if idx.predicate:
        pred = binder.to_bool(binder.expr(parse_expression(idx.predicate), scope), "WHERE")
    return _remember(_BOUND, key, BoundIndex(slots, pred))


def _binder_for(table: TableDef) -> tuple[Any, Any]:
    from aiondb.sql.bind_dml import StatementBinder
    from aiondb.sql.scope import Scope
    binder = StatementBinder(None, _NO_SESSION, [])
    scope = Scope()
    scope.add(binder.table_scope(table, table.name))
    return binder, scope


def expression_key_fn(table: TableDef, idx: IndexDef) -> Callable[[tuple], Any]:
    """row → index key (NULL as NULL_KEY, a tuple for several slots), or
    NOT_INDEXED when a partial index's predicate is not true for the row."""
    key = _cache_key(table, idx)
    hit = _KEY_FNS.get(key)
    if hit is not None:
        return hit
    bound = bind_index(table, idx)
    ctx = _NO_SESSION.const_context()
    parts = [compile_expr(e) for e in bound.slots]
    pred = compile_expr(bound.predicate) if bound.predicate is not None else None
    single = len(parts) == 1

    def key_fn(row: tuple) -> Any:
        if pred is not None and pred(row, ctx) is not True:
            return NOT_INDEXED
        if single:
            v = parts[0](row, ctx)
            return NULL_KEY if v is None else v
        return tuple(NULL_KEY if v is None else v for v in (f(row, ctx) for f in parts))
    return _remember(_KEY_FNS, key, key_fn)


# --- validation (CREATE INDEX) ----------------------------------------------------------------------

# casts PostgreSQL marks STABLE: they read the session's time zone or DateStyle
_TIME_TYPES = frozenset((T.DATE.oid, T.TIME.oid, T.TIMESTAMP.oid, T.TIMESTAMPTZ.oid,
                         T.INTERVAL.oid))
_TEXT_TYPES = frozenset((T.TEXT.oid, T.VARCHAR.oid, T.BPCHAR.oid, T.UNKNOWN.oid))


def _stable_cast(src: T.SqlType, dst: T.SqlType) -> bool:
    if src.oid == dst.oid:
        return False
    if T.TIMESTAMPTZ.oid in (src.oid, dst.oid):
        return True
    return (src.oid in _TEXT_TYPES and dst.oid in _TIME_TYPES) or \
        (dst.oid in _TEXT_TYPES and src.oid in _TIME_TYPES and src.oid != T.DATE.oid)


def check_index_expression(e: Expr, what: str) -> None:
    """PostgreSQL's rules for an index expression ('expression') or predicate
    ('predicate'): immutable, no subqueries, aggregates, window functions,
    set-returning functions or parameters."""
    plural = {"expression": "index expressions", "predicate": "index predicates"}[what]
    for node in walk(e):
        if isinstance(node, SubqueryExpr):
            raise errors.FeatureNotSupported(f"cannot use subquery in index {what}")
        if isinstance(node, AggCall):
            raise errors.GroupingError(f"aggregate functions are not allowed in {plural}")
        if isinstance(node, WindowCall):
            raise errors.WindowingError(f"window functions are not allowed in {plural}")
        if isinstance(node, SrfCall):
            raise errors.FeatureNotSupported(
                f"set-returning functions are not allowed in {plural}")
        if isinstance(node, Param):
            raise errors.UndefinedParameter(f"there is no parameter ${node.index + 1}")
        if (isinstance(node, Call) and (node.volatile or node.needs_ctx)) or \
                (isinstance(node, Cast) and _stable_cast(node.arg.type, node.type)):
            raise errors.InvalidObjectDefinition(
                f"functions in index {what} must be marked IMMUTABLE")


def constant_true(e: Expr | None) -> bool:
    return isinstance(e, Const) and e.value is True
