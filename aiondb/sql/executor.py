"""Executor: turns a plan into operators with compiled expressions (once per
prepared statement) and runs them against a transaction.

`build(plan)` → Operator; `op.rows(ctx)` yields tuples. ExecContext carries
everything an execution needs (transaction, parameters, session settings).

This module holds the plan → operator registry and the operators over an
input (filter, project, sort, limit, set operations, CTEs, row locks);
exec_base.py has ExecContext and Operator, exec_scan.py the leaf operators,
exec_joins.py the joins, exec_subquery.py subqueries in expressions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, islice
from typing import Any

from aiondb import errors
from aiondb.sql import plan as P
from aiondb.sql.exec_base import (
    ExecContext,
    Operator,
    _maybe,
    hashable,
    row_key,
    sort_rows,
    sort_value_fn,
)
from aiondb.sql.exec_scan import (
    EmptyOp,
    FunctionScanOp,
    KeyLookupOp,
    KeyRangeOp,
    ResultOp,
    ScanOp,
    SystemScanOp,
    ValuesOp,
)
from aiondb.sql.expr_compile import compile_expr

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
