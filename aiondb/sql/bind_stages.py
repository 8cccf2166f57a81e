"""The stages of a SELECT after FROM and WHERE: GROUP BY (with ROLLUP,
CUBE and GROUPING SETS) and aggregation, GROUPING(), window functions, and
set-returning functions of the select list (ProjectSet).

A mixin of QueryBinder (bind_query.py)."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from aiondb import errors
from aiondb import types as T
from aiondb.sql import plan as P
from aiondb.sql.bind_calls import grouping_marker
from aiondb.sql.expr import (
    AggCall,
    Call,
    Col,
    Const,
    Expr,
    SrfCall,
    WindowCall,
    transform,
    walk,
)
from aiondb.sql.scope import Scope
from aiondb.storage.catalog import TableDef


class StageBinder:
    """Grouping, window and ProjectSet stages; mixed into QueryBinder."""

    # provided by Binder / QueryBinder
    catalog: Any
    session: Any
    expr: Any
    coerce: Any
    call: Any
    operator: Any
    to_bool: Any
    common_type: Any
    bind_query_node: Any
    allow_aggregates: bool

    def _group_by(self, group: exp.Group, scope: Scope,
                  items: list[Expr]) -> tuple[list[Expr], list[list[int]] | None]:
        exprs: list[Expr] = []
        sets: list[list[int]] | None = None

        def add(node: exp.Expr) -> int:
            e = self._resolve_group_item(node, scope, items)
            for i, x in enumerate(exprs):
                if x == e:
                    return i
            exprs.append(e)
            return len(exprs) - 1

        plain: list[int] = []
        extra_sets: list[list[list[int]]] = []
        special: list[exp.Expr] = []
        for node in group.expressions:
            if isinstance(node, (exp.Rollup, exp.Cube, exp.GroupingSets)):
                special.append(node)    # sqlglot keeps them among the plain items
            else:
                plain.append(add(node))
        for kind in ("rollup", "cube", "grouping_sets"):
            special += list(group.args.get(kind) or [])
        if special:
            for g in special:
                if isinstance(g, exp.Rollup):
                    cols = [add(x) for x in g.expressions]
                    extra_sets.append([cols[:i] for i in range(len(cols), -1, -1)])
                elif isinstance(g, exp.Cube):
                    cols = [add(x) for x in g.expressions]
                    subsets = []
                    n = len(cols)
                    for mask in range((1 << n) - 1, -1, -1):
                        subsets.append([cols[i] for i in range(n) if mask & (1 << (n - 1 - i))])
                    extra_sets.append(subsets)
                elif isinstance(g, exp.GroupingSets):
                    sets_here = []
                    for s in g.expressions:
                        inner = s.this if isinstance(s, exp.Paren) else s
                        members = inner.expressions if isinstance(inner, exp.Tuple) else [inner]
                        sets_here.append([add(x) for x in members])
                    extra_sets.append(sets_here)
        if extra_sets:
            combos: list[list[int]] = [list(plain)]
            for choices in extra_sets:
                combos = [c + ch for c in combos for ch in choices]
            sets = combos
        return exprs, sets

    def _resolve_group_item(self, node: exp.Expr, scope: Scope, items: list[Expr]) -> Expr:
        if isinstance(node, exp.Literal) and not node.is_string:
            idx = int(node.this)
            if not 1 <= idx <= len(items):
                raise errors.InvalidColumnReference(
                    f"GROUP BY position {idx} is not in select list")
            return items[idx - 1]
        if isinstance(node, exp.Column) and not node.table:
            if scope.lookup_local(None, node.name) is None and node.name in scope.aliases:
                return scope.aliases[node.name]
        saved = self.allow_aggregates
        self.allow_aggregates = False
        try:
            return self.expr(node, scope)
        except errors.GroupingError:
            raise errors.GroupingError("aggregate functions are not allowed in GROUP BY"
                                       ) from None
        finally:
            self.allow_aggregates = saved

    def _aggregate(self, plan: P.Plan, scope: Scope, group_exprs: list[Expr],
                   grouping_sets: list[list[int]] | None, items: list[Expr],
                   having: Expr | None, order_keys: list) -> tuple:
        group_exprs = list(group_exprs)
        # columns functionally dependent on a grouped primary key may be used freely
        for entry in scope.entries if grouping_sets is None else ():
            tdef = entry.table
            if isinstance(tdef, TableDef) and tdef.pk:
                pk_cols = [Col(entry.offset + entry.attnums.index(a), tdef.columns[
                    tdef.position(a)].type) for a in tdef.pk if a in entry.attnums]
                if pk_cols and all(c in group_exprs for c in pk_cols):
                    for i, n in enumerate(entry.names):
                        c = Col(entry.offset + i, entry.types[i], n)
                        if c not in group_exprs:
                            group_exprs.append(c)
        aggs: list[AggCall] = []
        ngroups = len(group_exprs)
        # with grouping sets a bitmask column (bit i: group expression i is not
        # grouped in this row's set) follows the group columns, for GROUPING()
        first_agg = ngroups + (grouping_sets is not None)

        def rewrite(e: Expr) -> Expr | None:
            if isinstance(e, Call) and e.fn is grouping_marker:
                return self._grouping_value(e, group_exprs, grouping_sets is not None)
            for i, g in enumerate(group_exprs):
                if e == g and not isinstance(e, Const):
                    return Col(i, g.type)
            if isinstance(e, AggCall):
                for i, a in enumerate(aggs):
                    if a == e:
                        return Col(first_agg + i, e.type)
                aggs.append(e)
                return Col(first_agg + len(aggs) - 1, e.type)
            if isinstance(e, Col):
                raise errors.GroupingError(
                    f'column "{self._col_label(e, scope)}" must appear in the GROUP BY clause '
                    "or be used in an aggregate function")
            if isinstance(e, WindowCall):
                return None
            return None

        new_items = [transform(e, rewrite) for e in items]
        new_having = transform(having, rewrite) if having is not None else None
        new_order = []
        for key, desc, nf in order_keys:
            new_order.append((key if isinstance(key, int) else transform(key, rewrite), desc,
                              nf))
        cols = [P.OutCol(f"?g{i}?", g.type) for i, g in enumerate(group_exprs)] + \
            ([P.OutCol("?gset?", T.INT4)] if grouping_sets is not None else []) + \
            [P.OutCol(a.name, a.type) for a in aggs]
        agg_plan = P.Aggregate(plan, group_exprs, aggs, cols, grouping_sets)
        return agg_plan, new_items, new_having, new_order

    def _grouping_value(self, call: Expr, group_exprs: list[Expr], has_sets: bool) -> Expr:
        """GROUPING(a, b, ...): bit per argument, 1 where it is not grouped."""
        assert isinstance(call, Call)
        positions = []
        for a in call.args:
            for i, g in enumerate(group_exprs):
                if a == g:
                    positions.append(i)
                    break
            else:
                raise errors.GroupingError("arguments to GROUPING must be grouping expressions "
                                           "of the associated query level")
        if not has_sets:
            return Const(0, T.INT4)
        ngroups = len(group_exprs)

        def bits(mask: int) -> int:
            r = 0
            for i in positions:
                r = (r << 1) | ((mask >> i) & 1)
            return r
        return Call("grouping", [Col(ngroups, T.INT4)], T.INT4, bits)

    def _col_label(self, c: Col, scope: Scope) -> str:
        for entry in scope.entries:
            if entry.offset <= c.index < entry.offset + len(entry.names):
                n = entry.names[c.index - entry.offset]
                return f"{entry.alias}.{n}" if entry.alias else n
        return c.name

    def _window_stage(self, plan: P.Plan, items: list[Expr], order_keys: list) -> tuple:
        calls: list[WindowCall] = []
        width = len(plan.columns)

        def rewrite(e: Expr) -> Expr | None:
            if isinstance(e, WindowCall):
                for i, c in enumerate(calls):
                    if c is e:
                        return Col(width + i, e.type)
                calls.append(e)
                return Col(width + len(calls) - 1, e.type)
            return None

        new_items = [transform(e, rewrite) for e in items]
        new_order = [(k if isinstance(k, int) else transform(k, rewrite), d, n)
                     for k, d, n in order_keys]
        cols = plan.columns + [P.OutCol(c.name, c.type) for c in calls]
        return P.Window(plan, calls, cols), new_items, new_order

    def _project_set_stage(self, plan: P.Plan, items: list[Expr], order_keys: list) -> tuple:
        """Set-returning functions of the select list run after grouping and
        windows; the items read their output columns."""
        calls: list[SrfCall] = []
        width = len(plan.columns)

        def rewrite(e: Expr) -> Expr | None:
            if isinstance(e, SrfCall):
                if any(isinstance(n, SrfCall) for a in e.args for n in walk(a)):
                    raise errors.FeatureNotSupported("set-returning functions nested in the "
                                                     "arguments of another are not supported")
                calls.append(e)
                return Col(width + len(calls) - 1, e.type)
            return None

        new_items = [transform(e, rewrite) for e in items]
        new_order = []
        for k, d, n in order_keys:
            if not isinstance(k, int):
                # ORDER BY an item holding a set-returning function: read its new form
                for old, new in zip(items, new_items, strict=True):
                    if k is old or k == old:
                        k = new
                        break
            new_order.append((k, d, n))
        cols = plan.columns + [P.OutCol(c.name, c.type) for c in calls]
        return P.ProjectSet(plan, calls, cols), new_items, new_order
