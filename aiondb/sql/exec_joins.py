"""Join operators: nested loop (any condition, LATERAL) and hash join.

A hash join whose inner side is a plain scan of a table with an index (or
primary key) on the join columns carries an index probe (`HashJoin.index_probe`).
At run time it reads the outer side first: when that turns out small next to
the inner table (`_probe_limit`), it looks each outer row's matches up in the
index (an index nested-loop join) instead of hashing the whole inner table.
There are no statistics to decide this at plan time, and the actual counts
are better.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import chain, islice
from operator import itemgetter
from typing import Any

from aiondb import types as T
from aiondb.sql import plan as P
from aiondb.sql.exec_base import ExecContext, Operator, _maybe, hashable
from aiondb.sql.exec_scan import KeyLookupOp
from aiondb.sql.executor import build
from aiondb.sql.expr import Col, Expr
from aiondb.sql.expr_compile import compile_expr

# what one index lookup costs, in inner rows hashed, besides fetching its
# matches (measured: a 10-row match list costs about 14 rows hashed)
LOOKUP_COST = 4

# values of these types are hashable and equal exactly when SQL's = says so
# (others go through hashable(): arrays are lists, json values dicts)
_PLAIN_KEY_TYPES = frozenset(
    (T.INT2.oid, T.INT4.oid, T.INT8.oid, T.NUMERIC.oid, T.TEXT.oid, T.VARCHAR.oid,
     T.NAME.oid, T.BOOL.oid, T.OID.oid, T.DATE.oid, T.TIMESTAMP.oid, T.TIMESTAMPTZ.oid,
     T.UUID.oid, T.BYTEA.oid, T.CHAR.oid))

KeyFn = Callable[[tuple, ExecContext], Any]


def key_fn(exprs: list[Expr]) -> tuple[KeyFn, int | None]:
    """(row → hash key, or None when a key part is NULL; the column position
    when the key is one plain column, so loops can index the row directly)."""
    plain = all(e.type.oid in _PLAIN_KEY_TYPES for e in exprs)
    if len(exprs) == 1:
        e = exprs[0]
        if plain and type(e) is Col:
            i = e.index
            return (lambda r, ctx: r[i]), i
        f = compile_expr(e)
        if plain:
            return f, None

        def one(r: tuple, ctx: ExecContext) -> Any:
            v = f(r, ctx)
            return None if v is None else hashable(v)
        return one, None
    if plain and all(type(e) is Col for e in exprs):
        get = itemgetter(*[e.index for e in exprs])

        def cols(r: tuple, ctx: ExecContext) -> Any:
            k = get(r)
            return None if None in k else k
        return cols, None
    fns = [compile_expr(e) for e in exprs]

    def many(r: tuple, ctx: ExecContext) -> Any:
        k = tuple([f(r, ctx) for f in fns])
        if None in k:
            return None
        return k if plain else tuple([hashable(v) for v in k])
    return many, None


class NestedLoopJoinOp(Operator):
    __slots__ = ("left", "right", "kind", "cond", "lnull", "rnull", "lateral")

    def __init__(self, p: P.NestedLoopJoin) -> None:
        self.left = build(p.left)
        self.right = build(p.right)
        self.kind = p.kind
        self.cond = _maybe(p.condition)
        self.lnull = (None,) * len(p.left.columns)
        self.rnull = (None,) * len(p.right.columns)
        self.lateral = [compile_expr(e) for e in p.lateral_corr] if p.lateral_corr else None

    def _right_rows(self, lrow: tuple, ctx: ExecContext, cached: list | None) -> Iterable[tuple]:
        if self.lateral is None:
            return cached  # type: ignore[return-value]
        ctx.outer.append([f(lrow, ctx) for f in self.lateral])
        try:
            return list(self.right.rows(ctx))
        finally:
            ctx.outer.pop()

    def rows(self, ctx: ExecContext) -> Iterable[tuple]:
        kind = self.kind
        cond = self.cond
        cached = None if self.lateral is not None else list(self.right.rows(ctx))
        right_matched = [False] * len(cached) if kind in ("right", "full") and cached else None
        for lrow in self.left.rows(ctx):
            matched = False
            rrows = self._right_rows(lrow, ctx, cached)
            for i, rrow in enumerate(rrows):
                row = lrow + rrow
                if cond is None or cond(row, ctx) is True:
                    matched = True
                    if kind == "semi":
                        break
                    if kind == "anti":
                        break
                    if right_matched is not None:
                        right_matched[i] = True
                    yield row
            if kind == "semi" and matched:
                yield lrow
            elif kind == "anti" and not matched:
                yield lrow
            elif not matched and kind in ("left", "full"):
                yield lrow + self.rnull
        if right_matched is not None and cached is not None:
            for i, rrow in enumerate(cached):
                if not right_matched[i]:
                    yield self.lnull + rrow


class HashJoinOp(Operator):
    __slots__ = ("left", "right", "kind", "lkey", "lpos", "rkey", "residual", "lnull",
                 "rnull", "probe")

    def __init__(self, p: P.HashJoin) -> None:
        self.left = build(p.left)
        self.right = build(p.right)
        self.kind = p.kind
        self.lkey, self.lpos = key_fn(p.left_keys)
        self.rkey, _ = key_fn(p.right_keys)
        self.residual = _maybe(p.residual)
        self.lnull = (None,) * len(p.left.columns)
        self.rnull = (None,) * len(p.right.columns)
        self.probe = KeyLookupOp(p.index_probe) if p.index_probe is not None else None

    def rows(self, ctx: ExecContext) -> Iterator[tuple]:
        probe = self.probe
        if probe is None:
            if self.kind in ("right", "full"):
                yield from self._outer_right(ctx)
                return
            # the inner side first, as before (volatile functions see that order)
            table = self._build(ctx)
            left: Iterable[tuple] = self.left.rows(ctx)
        else:
            limit = self._probe_limit(ctx)
            it = iter(self.left.rows(ctx))
            head = list(islice(it, limit + 1))
            if len(head) <= limit:
                yield from self._matched(head, lambda lrow: probe.lookup(lrow, ctx), ctx)
                return
            left = chain(head, it)
            table = self._build(ctx)
        get = table.get
        pos = self.lpos
        if self.kind == "inner" and self.residual is None:
            # the common case, kept tight: one dict probe per outer row
            if pos is not None:
                for lrow in left:
                    bucket = get(lrow[pos])
                    if bucket is not None:
                        for r in bucket:
                            yield lrow + r
                return
            lkey = self.lkey
            for lrow in left:
                bucket = get(lkey(lrow, ctx))
                if bucket is not None:
                    for r in bucket:
                        yield lrow + r
            return
        lkey = self.lkey
        yield from self._matched(left, lambda lrow: get(lkey(lrow, ctx)), ctx)

    def _probe_limit(self, ctx: ExecContext) -> int:
        """Up to how many outer rows index lookups cost less than hashing the
        inner table (costs in inner rows hashed; counts are the table's now)."""
        probe = self.probe
        assert probe is not None
        txn = ctx.txn
        td = txn.data(probe.oid)
        n = len(td.rows)
        per_lookup = LOOKUP_COST
        if probe.index_oid is None:
            per_lookup += 1
        else:
            idx = td.indexes.get(probe.index_oid)
            if idx is None:     # created in this transaction: a lookup scans the table
                return 0
            per_lookup += n / max(len(idx.map), 1)       # rows per key
        # every lookup also passes over the transaction's own writes to the
        # table and, under a snapshot, the table's older row versions
        per_lookup += len(txn.writes.get(probe.oid) or ())
        if txn.snapshot is not None:
            per_lookup += len(td.versions)
        return int(n / per_lookup)

    def _build(self, ctx: ExecContext) -> dict[Any, list[tuple]]:
        table: dict[Any, list[tuple]] = {}
        get = table.get
        rkey = self.rkey
        for r in self.right.rows(ctx):
            k = rkey(r, ctx)
            if k is None:       # NULL never equals anything
                continue
            bucket = get(k)
            if bucket is None:
                table[k] = [r]
            else:
                bucket.append(r)
        return table

    def _matched(self, left: Iterable[tuple], matches: Callable[[tuple], Any],
                 ctx: ExecContext) -> Iterator[tuple]:
        """inner / left / semi / anti joins, given each outer row's candidate
        inner rows (None or a list)."""
        kind = self.kind
        residual = self.residual
        rnull = self.rnull
        for lrow in left:
            rrows = matches(lrow)
            matched = False
            if rrows:
                for r in rrows:
                    row = lrow + r
                    if residual is not None and residual(row, ctx) is not True:
                        continue
                    matched = True
                    if kind == "semi" or kind == "anti":
                        break
                    yield row
            if kind == "semi":
                if matched:
                    yield lrow
            elif kind == "anti":
                if not matched:
                    yield lrow
            elif not matched and kind == "left":
                yield lrow + rnull

    def _outer_right(self, ctx: ExecContext) -> Iterator[tuple]:
        """right / full joins: inner rows no outer row matched come out last."""
        rrows = list(self.right.rows(ctx))
        table: dict[Any, list[int]] = {}
        rkey = self.rkey
        for i, r in enumerate(rrows):
            k = rkey(r, ctx)
            if k is not None:
                table.setdefault(k, []).append(i)
        matched_right = [False] * len(rrows)
        residual = self.residual
        lkey = self.lkey
        for lrow in self.left.rows(ctx):
            matched = False
            for i in table.get(lkey(lrow, ctx)) or ():
                row = lrow + rrows[i]
                if residual is not None and residual(row, ctx) is not True:
                    continue
                matched = True
                matched_right[i] = True
                yield row
            if not matched and self.kind == "full":
                yield lrow + self.rnull
        for i, r in enumerate(rrows):
            if not matched_right[i]:
                yield self.lnull + r
