"""Subqueries in expressions: compiles a SubqueryExpr (scalar, row, EXISTS,
ARRAY, ANY / ALL) to a closure that runs the subquery's operator.

Separate from executor.py: it is the expression side (reached from
compile_expr), and builds its plan through executor.build.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiondb import errors
from aiondb.sql.exec_base import ExecContext
from aiondb.sql.executor import build
from aiondb.sql.expr import SubqueryExpr
from aiondb.sql.expr_compile import Compiled, compile_expr


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

