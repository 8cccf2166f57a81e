"""Leaf operators: rows from constants, VALUES, tables (full scans, key
lookups, key ranges), system views and set-returning functions.

Separate from executor.py because none of them has an input to build.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiondb.sql import plan as P
from aiondb.sql.exec_base import ExecContext, Operator, _filtered, _maybe
from aiondb.sql.expr_compile import Compiled, compile_expr
from aiondb.storage.table import NULL_KEY, index_key, index_key_fn


class ResultOp(Operator):
    __slots__ = ("exprs",)

    def __init__(self, p: P.Result) -> None:
        self.exprs = [compile_expr(e) for e in p.exprs]

    def rows(self, ctx: ExecContext) -> Iterable[tuple]:
        return (tuple(e((), ctx) for e in self.exprs),)


class ValuesOp(Operator):
    __slots__ = ("rowfns",)

    def __init__(self, p: P.Values) -> None:
        self.rowfns = [[compile_expr(e) for e in r] for r in p.rows]

    def rows(self, ctx: ExecContext) -> Iterable[tuple]:
        return [tuple(e((), ctx) for e in r) for r in self.rowfns]


class EmptyOp(Operator):
    __slots__ = ()

    def rows(self, ctx: ExecContext) -> Iterable[tuple]:
        return ()


class ScanOp(Operator):
    __slots__ = ("oid", "with_key", "pred")

    def __init__(self, p: P.Scan) -> None:
        self.oid = p.table.oid
        self.with_key = p.with_key
        self.pred = _maybe(p.filter)

    def rows(self, ctx: ExecContext) -> Iterable[tuple]:
        if self.with_key:
            it: Iterable[tuple] = (row + (key,) for key, row in ctx.txn.scan_items(self.oid))
        else:
            it = ctx.txn.scan(self.oid)
        return _filtered(it, self.pred, ctx)


class KeyLookupOp(Operator):
    __slots__ = ("oid", "keys", "index_oid", "with_key", "pred", "single")

    def __init__(self, p: P.KeyLookup) -> None:
        self.oid = p.table.oid
        self.keys = [compile_expr(k) for k in p.keys]
        self.index_oid = p.index.oid if p.index is not None else None
        self.with_key = p.with_key
        self.pred = _maybe(p.filter)
        self.single = len(self.keys) == 1

    def rows(self, ctx: ExecContext) -> Iterable[tuple]:
        return self.lookup((), ctx)

    def lookup(self, outer: tuple, ctx: ExecContext) -> Iterable[tuple]:
        """The rows for keys computed over `outer` (an index nested-loop join's
        outer row; () for constant / parameter keys)."""
        if self.single:
            v = self.keys[0](outer, ctx)
            if v is None:
                return ()
            key: Any = v
        else:
            vals = [k(outer, ctx) for k in self.keys]
            if any(v is None for v in vals):
                return ()
            key = tuple(vals)
        txn = ctx.txn
        if self.index_oid is None:
            row = txn.get(self.oid, key)
            if row is None:
                return ()
            if self.pred is not None and self.pred(row, ctx) is not True:
                return ()
            return ((row + (key,)) if self.with_key else row,)
        ikey = index_key((key,) if self.single else key)
        found = txn.index_lookup(self.oid, self.index_oid, ikey)
        out = [(r + (k,)) if self.with_key else r for k, r in found]
        return _filtered(out, self.pred, ctx)


class KeyRangeOp(Operator):
    __slots__ = ("oid", "index_oid", "lo", "hi", "lo_inc", "hi_inc", "reverse", "with_key",
                 "pred", "single", "key_pos")

    def __init__(self, p: P.KeyRange) -> None:
        self.oid = p.table.oid
        self.index_oid = p.index.oid if p.index is not None else None
        self.lo = [compile_expr(e) for e in p.lo] if p.lo else None
        self.hi = [compile_expr(e) for e in p.hi] if p.hi else None
        self.lo_inc = p.lo_inclusive
        self.hi_inc = p.hi_inclusive
        self.reverse = p.reverse
        self.with_key = p.with_key
        self.pred = _maybe(p.filter)
        ncols = len(p.index.attnums) if p.index is not None else len(p.table.pk)
        self.single = ncols == 1
        # a bounded scan of a secondary index must skip its NULL keys (they sort
        # last, and no comparison is true for them); primary keys are never NULL
        self.key_pos: Any = None
        if p.index is not None and (p.lo or p.hi):
            a = p.index.attnums[0]
            # an expression key: its value is the index key function's
            self.key_pos = p.table.position(a) if a else index_key_fn(p.table, p.index)

    def _bound(self, fns: list[Compiled] | None, ctx: ExecContext) -> tuple[bool, Any]:
        if fns is None:
            return True, None
        vals = [f((), ctx) for f in fns]
        if any(v is None for v in vals):
            return False, None  # comparison with NULL: no rows
        if self.index_oid is None:
            return True, vals[0] if self.single else tuple(vals)
        return True, index_key(vals) if self.single else tuple(vals)

    def rows(self, ctx: ExecContext) -> Iterable[tuple]:
        ok1, lo = self._bound(self.lo, ctx)
        ok2, hi = self._bound(self.hi, ctx)
        if not (ok1 and ok2):
            return ()
        txn = ctx.txn
        if self.index_oid is None:
            it = txn.pk_range(self.oid, lo, hi, self.lo_inc, self.hi_inc, self.reverse)
        else:
            # (the planner gives multi-column indexes no bounds: they are scanned for order)
            it = txn.index_range(self.oid, self.index_oid, lo, hi, self.lo_inc,
                                 self.hi_inc, self.reverse)
        if isinstance(self.key_pos, int):
            pos = self.key_pos
            it = ((k, r) for k, r in it if r[pos] is not None)
        elif self.key_pos is not None:
            kf = self.key_pos
            it = ((k, r) for k, r in it if kf(r) is not NULL_KEY)
        out = ((r + (k,)) if self.with_key else r for k, r in it)
        return _filtered(out, self.pred, ctx)


class SystemScanOp(Operator):
    __slots__ = ("producer", "pred")

    def __init__(self, p: P.SystemScan) -> None:
        self.producer = p.producer
        self.pred = _maybe(p.filter)

    def rows(self, ctx: ExecContext) -> Iterable[tuple]:
        return _filtered(self.producer(ctx), self.pred, ctx)


class FunctionScanOp(Operator):
    __slots__ = ("fn", "args", "ordinality", "strict")

    def __init__(self, p: P.FunctionScan) -> None:
        self.fn = p.fn.impl
        self.strict = p.fn.strict
        self.args = [compile_expr(a) for a in p.args]
        self.ordinality = p.ordinality

    def rows(self, ctx: ExecContext) -> Iterable[tuple]:
        vals = [a((), ctx) for a in self.args]
        if self.strict and any(v is None for v in vals):
            return ()
        it = self.fn(ctx, *vals)
        if self.ordinality:
            return (r + (i,) for i, r in enumerate(it, 1))
        return it

