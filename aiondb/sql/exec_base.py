"""What every operator module shares: the per-execution context, the Operator
base class, and the row-key and sort helpers (grouping, DISTINCT, ORDER BY).

Separate from executor.py (the plan → operator registry) so the operator
modules (scans, joins, aggregates, windows, DML) build on it without
importing one another.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql.expr_compile import Compiled, compile_expr


class ExecContext:
    """Per-execution state. `outer` is the stack of correlation values."""

    __slots__ = ("txn", "session", "params", "outer", "tz", "statement_time",
                 "transaction_time", "catalog", "cache", "db", "cte_results", "rules_for",
                 "work_tables", "notices")

    def __init__(self, txn: Any, session: Any, params: list[Any], catalog: Any,
                 tz: dt.tzinfo, statement_time: dt.datetime,
                 transaction_time: dt.datetime) -> None:
        self.txn = txn
        self.session = session
        self.params = params
        self.outer: list[list[Any]] = []
        self.tz = tz
        self.statement_time = statement_time
        self.transaction_time = transaction_time
        self.catalog = catalog
        self.cache: dict[int, Any] = {}
        self.db = txn.db if txn is not None else None
        self.cte_results: dict[int, Any] = {}           # id → CteBuffer
        self.work_tables: dict[int, list[tuple]] = {}
        self.rules_for: Callable[[int], Any] | None = None
        self.notices: list[str] = []

    def resolve_reg(self, t: T.SqlType, v: Any) -> Any:
        return self.session.resolve_reg(t, v, self)


class Operator:
    __slots__ = ()

    def rows(self, ctx: ExecContext) -> Iterable[tuple]:
        raise NotImplementedError


def _maybe(e: Any) -> Compiled | None:
    return None if e is None else compile_expr(e)


def _filtered(it: Iterable[tuple], pred: Compiled | None, ctx: ExecContext) -> Iterable[tuple]:
    if pred is None:
        return it
    return (r for r in it if pred(r, ctx) is True)


# --- row keys and sorting -----------------------------------------------------------------------

def hashable(v: Any) -> Any:
    """A hashable stand-in for values used as grouping / distinct keys."""
    if isinstance(v, list):
        return ("\0list", tuple(hashable(x) for x in v))
    if isinstance(v, dict):
        return ("\0dict", tuple(sorted((k, hashable(x)) for k, x in v.items())))
    return v


def row_key(row: tuple) -> Any:
    try:
        hash(row)
        return row
    except TypeError:
        return tuple(hashable(v) for v in row)


def sort_value_fn(t: T.SqlType) -> Callable[[Any], Any] | None:
    """Maps a value to something Python orders like PostgreSQL does."""
    if t.oid == T.BPCHAR.oid:
        return lambda v: v.rstrip(" ")
    if t.oid in (T.FLOAT4.oid, T.FLOAT8.oid, T.NUMERIC.oid):
        # NaN sorts above every number (x != x only for NaN)
        return lambda v: (1, 0) if v != v else (0, v)
    if t.oid == T.JSONB.oid:
        from aiondb.sql.fn_core import _jsonb_cmp_key
        return _jsonb_cmp_key
    if t.elem is not None:
        return lambda v: [(1, 0) if x is None else (0, x) for x in v]
    if t.oid == T.RECORD.oid:
        return lambda v: [(1, 0) if x is None else (0, x) for x in v]
    return None


def sort_rows(data: list, keys: list[tuple[Compiled, bool, bool | None, Any]],
              ctx: ExecContext) -> None:
    """Stable multi-pass sort, last key first. NULLs sort as larger than any
    value (PostgreSQL: NULLS LAST for ASC, NULLS FIRST for DESC by default)."""
    for fn, desc, nulls_first, conv in reversed(keys):
        nf = desc if nulls_first is None else nulls_first
        null_key = (-1, 0) if nf != desc else (1, 0)
        if conv is None:
            def key(r: tuple, fn: Compiled = fn, nk: tuple = null_key) -> Any:
                v = fn(r, ctx)
                return nk if v is None else (0, v)
        else:
            def key(r: tuple, fn: Compiled = fn, nk: tuple = null_key,
                    conv: Callable = conv) -> Any:
                v = fn(r, ctx)
                return nk if v is None else (0, conv(v))
        try:
            data.sort(key=key, reverse=desc)
        except TypeError as exc:
            raise errors.UndefinedFunction(f"could not identify an ordering operator: {exc}"
                                           ) from None
