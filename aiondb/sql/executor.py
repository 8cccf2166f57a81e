"""Executor: turns a plan into operators with compiled expressions (once per
prepared statement) and runs them against a transaction.

`build(plan)` → Operator; `op.rows(ctx)` yields tuples. ExecContext carries
everything an execution needs (transaction, parameters, session settings).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, islice
from typing import Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql import plan as P
from aiondb.sql.expr import Compiled, SubqueryExpr, compile_expr
from aiondb.storage.table import NULL_KEY, index_key, index_key_fn


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


_BUILDERS: dict[type, Callable[[Any], Operator]] = {}


def builder(plan_type: type) -> Callable:
    def deco(fn: Callable) -> Callable:
        _BUILDERS[plan_type] = fn
        return fn
    return deco


def build(plan: P.Plan) -> Operator:
    fn = _BUILDERS.get(type(plan))
    if fn is None:
        raise errors.InternalError(f"no executor for {type(plan).__name__}")
    return fn(plan)


def _maybe(e: Any) -> Compiled | None:
    return None if e is None else compile_expr(e)


def _filtered(it: Iterable[tuple], pred: Compiled | None, ctx: ExecContext) -> Iterable[tuple]:
    if pred is None:
        return it
    return (r for r in it if pred(r, ctx) is True)


# --- leaves -----------------------------------------------------------------------------------

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


class ProjectSetOp(Operator):
    __slots__ = ("input", "calls")

    def __init__(self, p: P.ProjectSet) -> None:
        self.input = build(p.input)
        self.calls = [(c.impl.impl, c.impl.strict, [compile_expr(a) for a in c.args],
                       len(c.columns) > 1, tuple(n for n, _ in c.columns),
                       tuple(t for _, t in c.columns)) for c in p.calls]

    def rows(self, ctx: ExecContext) -> Iterable[tuple]:
        from aiondb.sql.expr import Record
        for row in self.input.rows(ctx):
            outs = []
            for fn, strict, argfns, composite, names, types in self.calls:
                vals = [a(row, ctx) for a in argfns]
                if strict and any(v is None for v in vals):
                    outs.append([])
                    continue
                res = fn(ctx, *vals)
                outs.append([Record(r, names, types) for r in res] if composite
                            else [r[0] for r in res])
            n = max((len(o) for o in outs), default=0)
            for i in range(n):
                yield row + tuple(o[i] if i < len(o) else None for o in outs)


# --- row-at-a-time operators ----------------------------------------------------------------------

class FilterOp(Operator):
    __slots__ = ("input", "pred")

    def __init__(self, p: P.Filter) -> None:
        self.input = build(p.input)
        self.pred = compile_expr(p.predicate)

    def rows(self, ctx: ExecContext) -> Iterable[tuple]:
        pred = self.pred
        return (r for r in self.input.rows(ctx) if pred(r, ctx) is True)


class ProjectOp(Operator):
    __slots__ = ("input", "exprs", "positions")

    def __init__(self, p: P.Project) -> None:
        from aiondb.sql.expr import Col
        self.input = build(p.input)
        self.exprs = [compile_expr(e) for e in p.exprs]
        # pure column picks project with a tuple comprehension, no closures
        self.positions = [e.index for e in p.exprs] if all(
            type(e) is Col for e in p.exprs) else None

    def rows(self, ctx: ExecContext) -> Iterable[tuple]:
        pos = self.positions
        if pos is not None:
            if len(pos) == 1:
                i = pos[0]
                return ((r[i],) for r in self.input.rows(ctx))
            return (tuple([r[i] for i in pos]) for r in self.input.rows(ctx))
        exprs = self.exprs
        return (tuple([e(r, ctx) for e in exprs]) for r in self.input.rows(ctx))


class LimitOp(Operator):
    __slots__ = ("input", "limit", "offset", "ties")

    def __init__(self, p: P.Limit) -> None:
        self.input = build(p.input)
        self.limit = _maybe(p.limit)
        self.offset = _maybe(p.offset)
        self.ties = [compile_expr(k.expr) for k in p.ties] if p.ties else None

    def rows(self, ctx: ExecContext) -> Iterable[tuple]:
        limit = self.limit((), ctx) if self.limit is not None else None
        offset = self.offset((), ctx) if self.offset is not None else None
        if limit is not None and limit < 0:
            raise errors.InvalidRowCountInLimitClause("LIMIT must not be negative")
        if offset is not None and offset < 0:
            raise errors.InvalidRowCountInResultOffsetClause("OFFSET must not be negative")
        start = int(offset or 0)
        if limit is None:
            return islice(self.input.rows(ctx), start, None)
        if limit == 0:
            return ()
        if self.ties is not None:
            return self._with_ties(islice(self.input.rows(ctx), start, None), int(limit), ctx)
        return islice(self.input.rows(ctx), start, start + int(limit))

    def _with_ties(self, rows: Iterable[tuple], limit: int, ctx: ExecContext) -> list[tuple]:
        out: list[tuple] = []
        last = None
        keys = self.ties or []
        for r in rows:
            k = tuple(hashable(f(r, ctx)) for f in keys)
            if len(out) >= limit and k != last:
                break
            out.append(r)
            last = k
        return out


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


class DistinctOp(Operator):
    __slots__ = ("input", "on")

    def __init__(self, p: P.Distinct) -> None:
        self.input = build(p.input)
        self.on = [compile_expr(e) for e in p.on] if p.on else None

    def rows(self, ctx: ExecContext) -> Iterable[tuple]:
        seen: set = set()
        on = self.on
        for r in self.input.rows(ctx):
            k = row_key(tuple(f(r, ctx) for f in on)) if on is not None else row_key(r)
            if k in seen:
                continue
            seen.add(k)
            yield r


class SortOp(Operator):
    __slots__ = ("input", "keys")

    def __init__(self, p: P.Sort) -> None:
        self.input = build(p.input)
        self.keys = [(compile_expr(k.expr), k.desc, k.nulls_first, sort_value_fn(k.expr.type))
                     for k in p.keys]

    def rows(self, ctx: ExecContext) -> Iterable[tuple]:
        data = list(self.input.rows(ctx))
        sort_rows(data, self.keys, ctx)
        return data


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


# --- set operations -------------------------------------------------------------------------------------

class SetOpOp(Operator):
    __slots__ = ("op", "all", "left", "right")

    def __init__(self, p: P.SetOp) -> None:
        self.op = p.op
        self.all = p.all
        self.left = build(p.left)
        self.right = build(p.right)

    def rows(self, ctx: ExecContext) -> Iterable[tuple]:
        if self.op == "union":
            if self.all:
                return chain(list(self.left.rows(ctx)), list(self.right.rows(ctx)))
            out: dict[Any, tuple] = {}
            for r in chain(self.left.rows(ctx), self.right.rows(ctx)):
                out.setdefault(row_key(r), r)
            return list(out.values())
        left = list(self.left.rows(ctx))
        right = Counter(row_key(r) for r in self.right.rows(ctx))
        result = []
        if self.op == "intersect":
            seen: set = set()
            for r in left:
                k = row_key(r)
                if self.all:
                    if right[k] > 0:
                        right[k] -= 1
                        result.append(r)
                elif k in right and k not in seen:
                    seen.add(k)
                    result.append(r)
            return result
        seen = set()
        for r in left:  # except
            k = row_key(r)
            if self.all:
                if right[k] > 0:
                    right[k] -= 1
                else:
                    result.append(r)
            elif k not in right and k not in seen:
                seen.add(k)
                result.append(r)
        return result


# --- CTEs -----------------------------------------------------------------------------------------------

class CteBuffer:
    """A CTE's rows, produced on demand and kept for every reader: a query
    that stops early (LIMIT) stops the CTE early, as in PostgreSQL, so even
    an unbounded WITH RECURSIVE works under a LIMIT."""

    __slots__ = ("rows", "source", "done")

    def __init__(self, source: Iterable[tuple]) -> None:
        self.rows: list[tuple] = []
        self.source = iter(source)
        self.done = False

    def read(self) -> Iterator[tuple]:
        i = 0
        rows = self.rows
        while True:
            if i < len(rows):
                yield rows[i]
                i += 1
                continue
            if self.done:
                return
            try:
                rows.append(next(self.source))
            except StopIteration:
                self.done = True

    def finish(self) -> list[tuple]:
        for _ in self.read():
            pass
        return self.rows


class CteScanOp(Operator):
    __slots__ = ("cte", "plan_op", "rec_op")

    def __init__(self, p: P.CteScan) -> None:
        self.cte = p.cte
        self.plan_op = build(p.cte.plan) if p.cte.plan is not None else None
        self.rec_op = build(p.cte.recursive_plan) if p.cte.recursive_plan is not None else None

    def buffer(self, ctx: ExecContext) -> CteBuffer:
        cid = self.cte.id
        buf = ctx.cte_results.get(cid)
        if buf is None:
            assert self.plan_op is not None
            source = self.plan_op.rows(ctx)
            if self.rec_op is not None:
                source = self._recurse(source, ctx)
            buf = ctx.cte_results[cid] = CteBuffer(source)
        return buf

    def rows(self, ctx: ExecContext) -> Iterable[tuple]:
        return self.buffer(ctx).read()

    def _recurse(self, seed: Iterable[tuple], ctx: ExecContext) -> Iterator[tuple]:
        """Seed rows, then each iteration's new rows, as they are made."""
        union_all = self.cte.union_all
        seen: set | None = None if union_all else set()
        cid = self.cte.id
        assert self.rec_op is not None

        def fresh(rows: Iterable[tuple]) -> list[tuple]:
            if seen is None:
                return list(rows)
            out = []
            for r in rows:
                k = row_key(r)
                if k not in seen:
                    seen.add(k)
                    out.append(r)
            return out
        work = fresh(seed)
        yield from work
        steps = 0
        try:
            while work:
                # statements run on the event loop: a recursion nobody stops would
                # stall every session, so it is cut off (PostgreSQL would run on)
                steps += 1
                if steps > 1_000_000:
                    raise errors.StatementTooComplex("recursive query did not terminate")
                ctx.work_tables[cid] = work
                work = fresh(self.rec_op.rows(ctx))
                yield from work
        finally:
            ctx.work_tables.pop(cid, None)


class RunCtesOp(Operator):
    __slots__ = ("input", "ctes")

    def __init__(self, p: P.RunCtes) -> None:
        self.input = build(p.input)
        self.ctes = [CteScanOp(P.CteScan(c, [])) for c in p.ctes]

    def rows(self, ctx: ExecContext) -> Iterable[tuple]:
        for op in self.ctes:
            op.buffer(ctx).finish()
        return self.input.rows(ctx)


class WorkTableScanOp(Operator):
    __slots__ = ("cte",)

    def __init__(self, p: P.WorkTableScan) -> None:
        self.cte = p.cte

    def rows(self, ctx: ExecContext) -> Iterable[tuple]:
        return ctx.work_tables.get(self.cte.id, ())


class LockRowsOp(Operator):
    """FOR UPDATE: lock rows as they pass (below LIMIT, so SKIP LOCKED and
    LIMIT combine as in PostgreSQL)."""

    __slots__ = ("input", "targets", "nowait", "skip_locked")

    def __init__(self, p: P.LockRows) -> None:
        self.input = build(p.input)
        self.targets = p.targets
        self.nowait = p.nowait
        self.skip_locked = p.skip_locked

    def rows(self, ctx: ExecContext) -> Iterator[tuple]:
        from aiondb.storage.txn import LockWait
        txn = ctx.txn
        for r in self.input.rows(ctx):
            try:
                for oid, pos in self.targets:
                    txn.lock_row(oid, r[pos])
            except LockWait:
                if self.skip_locked:
                    continue
                if self.nowait:
                    raise errors.LockNotAvailable("could not obtain lock on row in relation "
                                                  f'"{ctx.catalog.relations[oid].name}"'
                                                  ) from None
                raise
            yield r


# --- subqueries in expressions ----------------------------------------------------------------------------

def compile_subquery(e: SubqueryExpr) -> Compiled:
    op = build(e.plan)
    corr = [compile_expr(c) for c in e.corr]
    arg = compile_expr(e.arg) if e.arg is not None else None
    kind = e.kind
    cmp = e.cmp
    negate = e.negate
    key = id(e)

    def run(row: tuple, ctx: ExecContext) -> Iterable[tuple]:
        if not corr:
            cached = ctx.cache.get(key)
            if cached is None:
                cached = ctx.cache[key] = list(op.rows(ctx))
            return cached
        ctx.outer.append([c(row, ctx) for c in corr])
        try:
            return list(op.rows(ctx)) if kind != "exists" else _first_only(op.rows(ctx))
        finally:
            ctx.outer.pop()

    if kind == "scalar":
        def scalar(row: tuple, ctx: ExecContext) -> Any:
            rows = run(row, ctx)
            if not rows:
                return None
            if len(rows) > 1:
                raise errors.CardinalityViolation(
                    "more than one row returned by a subquery used as an expression")
            return rows[0][0]
        return scalar
    if kind == "row":
        # (a, b) = (SELECT x, y ...): the row's values, shared by the columns
        # assigned from it (one run per outer row, remembered for the next call)
        memo_key = (key, "row")

        def row_value(row: tuple, ctx: ExecContext) -> Any:
            marker = [c(row, ctx) for c in corr] if corr else None
            memo = ctx.cache.get(memo_key)
            if memo is not None and memo[0] == marker and memo[1] is row:
                return memo[2]
            rows = run(row, ctx)
            if len(rows) > 1:
                raise errors.CardinalityViolation(
                    "more than one row returned by a subquery used as an expression")
            value = rows[0] if rows else None
            ctx.cache[memo_key] = (marker, row, value)
            return value
        return row_value
    if kind == "exists":
        def exists(row: tuple, ctx: ExecContext) -> Any:
            found = bool(run(row, ctx))
            return not found if negate else found
        return exists
    if kind == "array":
        return lambda row, ctx: [r[0] for r in run(row, ctx)]
    assert arg is not None and cmp is not None
    if kind == "any":
        def any_(row: tuple, ctx: ExecContext) -> Any:
            v = arg(row, ctx)
            rows = run(row, ctx)
            if not rows:
                return negate
            if v is None:
                return None
            null = False
            for r in rows:
                w = r[0] if len(r) == 1 else r
                res = cmp(v, w) if w is not None else None
                if res is True:
                    return not negate
                if res is None:
                    null = True
            return None if null else negate
        return any_

    def all_(row: tuple, ctx: ExecContext) -> Any:
        v = arg(row, ctx)
        rows = run(row, ctx)
        if not rows:
            return True
        if v is None:
            return None
        null = False
        for r in rows:
            w = r[0]
            res = cmp(v, w) if w is not None else None
            if res is False:
                return False
            if res is None:
                null = True
        return None if null else True
    return all_


def _first_only(it: Iterable[tuple]) -> list[tuple]:
    for r in it:
        return [r]
    return []


for _p, _o in ((P.Result, ResultOp), (P.Values, ValuesOp), (P.Empty, lambda p: EmptyOp()),
               (P.Scan, ScanOp), (P.KeyLookup, KeyLookupOp), (P.KeyRange, KeyRangeOp),
               (P.SystemScan, SystemScanOp), (P.FunctionScan, FunctionScanOp),
               (P.Filter, FilterOp), (P.Project, ProjectOp), (P.Limit, LimitOp),
               (P.Distinct, DistinctOp), (P.Sort, SortOp),
               (P.SetOp, SetOpOp), (P.CteScan, CteScanOp), (P.WorkTableScan, WorkTableScanOp),
               (P.LockRows, LockRowsOp), (P.ProjectSet, ProjectSetOp), (P.RunCtes, RunCtesOp)):
    _BUILDERS[_p] = _o  # type: ignore[assignment]


def _build_aggregate(p: P.Aggregate) -> Operator:
    from aiondb.sql.aggregates import AggregateOp
    return AggregateOp(p, build(p.input))


def _build_window(p: P.Window) -> Operator:
    from aiondb.sql.windows import WindowOp
    return WindowOp(p, build(p.input))


def _build_dml(p: P.Plan) -> Operator:
    from aiondb.sql import dml
    return dml.build_dml(p)


def _build_nested_loop(p: P.NestedLoopJoin) -> Operator:
    from aiondb.sql.exec_joins import NestedLoopJoinOp
    return NestedLoopJoinOp(p)


def _build_hash_join(p: P.HashJoin) -> Operator:
    from aiondb.sql.exec_joins import HashJoinOp
    return HashJoinOp(p)


_BUILDERS[P.NestedLoopJoin] = _build_nested_loop
_BUILDERS[P.HashJoin] = _build_hash_join
_BUILDERS[P.Aggregate] = _build_aggregate
_BUILDERS[P.Window] = _build_window
_BUILDERS[P.Insert] = _build_dml
_BUILDERS[P.Update] = _build_dml
_BUILDERS[P.Delete] = _build_dml
