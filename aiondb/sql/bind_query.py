"""Query binding: SELECT, VALUES, set operations, FROM items and joins,
grouping, window functions, ORDER BY / LIMIT, CTEs (incl. WITH RECURSIVE)."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from aiondb import errors
from aiondb import types as T
from aiondb.sql import functions
from aiondb.sql import plan as P
from aiondb.sql.bind_cte import CteBinder
from aiondb.sql.bind_from import FromBinder
from aiondb.sql.bind_stages import StageBinder
from aiondb.sql.binder import Binder, resolve_type
from aiondb.sql.expr import (
    AggCall,
    Col,
    Const,
    Expr,
    RowCtor,
    SrfCall,
    SubqueryExpr,
    WindowCall,
    walk,
)
from aiondb.sql.scope import Scope, ScopeEntry


def figure_colname(node: exp.Expr) -> str:
    """PostgreSQL's FigureColname: the default output column name."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Alias):
        return node.alias
    if isinstance(node, exp.Column):
        return node.name if not isinstance(node.this, exp.Star) else "?column?"
    if isinstance(node, exp.Cast):
        inner = figure_colname(node.this)
        if inner != "?column?" and not _weak_colname(node.this):
            return inner
        t = node.args["to"]
        try:
            return resolve_type(t).name if resolve_type(t).elem is None else \
                resolve_type(t).name
        except errors.DatabaseError:
            return "?column?"
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Anonymous):
        return node.expression.name.lower()
    if isinstance(node, (exp.Window, exp.Bracket)):     # a subscript: what it subscripts
        return figure_colname(node.this)
    if isinstance(node, exp.Filter):
        return figure_colname(node.this)
    if isinstance(node, exp.Case):
        default = node.args.get("default")
        if default is not None and not _weak_colname(default):
            name = figure_colname(default)
            if name != "?column?":
                return name
        return "case"
    if isinstance(node, exp.If):
        return "case"
    if isinstance(node, exp.Exists):
        return "exists"
    if isinstance(node, exp.Array):
        return "array"
    if isinstance(node, exp.Boolean):
        return "bool"
    if isinstance(node, exp.Subquery):
        inner = node.this
        if isinstance(inner, exp.Select) and len(inner.expressions) == 1:
            return figure_colname(inner.expressions[0])
        return "?column?"
    if isinstance(node, exp.Interval):
        return "interval"
    names = {exp.CurrentTimestamp: "current_timestamp", exp.CurrentDate: "current_date",
             exp.CurrentUser: "current_user", exp.SessionUser: "session_user",
             exp.CurrentSchema: "current_schema", exp.CurrentCatalog: "current_catalog",
             exp.Localtimestamp: "localtimestamp", exp.CurrentTime: "current_time",
             exp.Extract: "extract", exp.Substring: "substring", exp.StrPosition: "position",
             exp.Trim: "btrim", exp.Overlay: "overlay", exp.AtTimeZone: "timezone",
             exp.Tuple: "row"}
    for cls, name in names.items():
        if isinstance(node, cls):
            if cls is exp.Trim:
                pos = (node.args.get("position") or "BOTH").upper()
                return {"BOTH": "btrim", "LEADING": "ltrim", "TRAILING": "rtrim"}[pos]
            return name
    if isinstance(node, exp.Column) or isinstance(node, exp.Identifier):
        return node.name
    return "?column?"


def _weak_colname(node: exp.Expr) -> bool:
    """FigureColname's strength 1: a name taken from a type (casts, TRUE,
    INTERVAL '...') or "case", which an enclosing cast or CASE overrides."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Case):
        default = node.args.get("default")
        return default is None or _weak_colname(default)
    if isinstance(node, exp.Cast):   # as weak as its operand, or named by its type
        return figure_colname(node.this) == "?column?" or _weak_colname(node.this)
    return isinstance(node, (exp.Boolean, exp.Interval))


def _contains(exprs: list[Expr], cls: type) -> bool:
    for e in exprs:
        for n in walk(e):
            if isinstance(n, cls):
                return True
            if isinstance(n, SubqueryExpr):
                continue
    return False


class QueryBinder(CteBinder, FromBinder, StageBinder, Binder):
    # --- entry points ----------------------------------------------------------------------------
    def bind_query_node(self, q: exp.Expr, scope: Scope) -> P.Plan:
        # a subquery is its own query level: the enclosing level's aggregate and
        # window context must neither leak into it nor be clobbered by it
        saved = (self.allow_aggregates, self.allow_windows, self.agg_level, self.windows,
                 getattr(self, "allow_srf", False), getattr(self, "query_depth", 0))
        self.agg_level = 0
        self.allow_srf = False
        self.query_depth = saved[5] + 1
        try:
            return self._bind_query_node(q, scope)
        finally:
            (self.allow_aggregates, self.allow_windows, self.agg_level, self.windows,
             self.allow_srf, self.query_depth) = saved

    def _bind_query_node(self, q: exp.Expr, scope: Scope) -> P.Plan:
        if isinstance(q, exp.Subquery):
            inner = self.bind_query_node(q.this, scope)
            return self._apply_outer_modifiers(q, inner, scope)
        if isinstance(q, exp.Paren):
            return self.bind_query_node(q.this, scope)
        if isinstance(q, exp.Select):
            return self.bind_select(q, scope)
        if isinstance(q, (exp.Union, exp.Intersect, exp.Except)):
            return self.bind_setop(q, scope)
        if isinstance(q, exp.Values):
            return self.bind_values(q, scope)
        if isinstance(q, exp.Table) and isinstance(q.this, exp.Values):
            return self.bind_values(q.this, scope)
        raise errors.FeatureNotSupported(
            f"query of type {type(q).__name__} is not supported")

    def _apply_outer_modifiers(self, q: exp.Expr, plan: P.Plan, scope: Scope) -> P.Plan:
        order = q.args.get("order")
        limit = q.args.get("limit")
        offset = q.args.get("offset")
        if order is None and limit is None and offset is None:
            return plan
        return self._order_limit_over(plan, order, limit, offset, scope)

    # --- SELECT -----------------------------------------------------------------------------------------
    def bind_select(self, sel: exp.Select, parent: Scope) -> P.Plan:
        pushed = self._push_ctes(sel, parent)
        try:
            plan = self._bind_select_body(sel, parent)
        except BaseException:
            if pushed:
                self.cte_stack.pop()
            raise
        return self.pop_ctes(pushed, plan)

    def _bind_select_body(self, sel: exp.Select, parent: Scope) -> P.Plan:
        keep_unknown = getattr(self, "keep_unknown", False)
        self.keep_unknown = False      # only this level's select list, not subqueries'
        return self._bind_select_level(sel, parent, keep_unknown)

    def _bind_select_level(self, sel: exp.Select, parent: Scope, keep_unknown: bool) -> P.Plan:
        # the caller creates this level's scope (it carries the correlation frame)
        scope = parent
        locks = sel.args.get("locks") or []
        lock_tables = self._lock_targets(locks)
        if locks:
            self._check_lockable(sel)
        from_ = sel.args.get("from_") or sel.args.get("from")
        joins = sel.args.get("joins") or []
        if from_ is None:
            plan: P.Plan = P.Result([], [])
            if joins:
                raise errors.SyntaxError("JOIN without FROM")
        else:
            plan = self.bind_from(from_.this, joins, scope, lock_tables)
        self.windows = {w.name: w for w in sel.args.get("windows") or []}
        where = sel.args.get("where")
        if where is not None:
            saved = self.allow_aggregates, self.allow_windows
            self.allow_aggregates = self.allow_windows = False
            try:
                pred = self.to_bool(self.expr(where.this, scope), "WHERE")
            except errors.GroupingError:
                raise errors.GroupingError("aggregate functions are not allowed in WHERE"
                                           ) from None
            except errors.WindowingError:
                raise errors.WindowingError("window functions are not allowed in WHERE"
                                            ) from None
            finally:
                self.allow_aggregates, self.allow_windows = saved
            plan = P.Filter(plan, pred, plan.columns)
        # select list
        self.allow_aggregates = True
        self.allow_windows = True
        try:
            self.allow_srf = True
            try:
                items, names = self._select_items(sel, scope, keep_unknown)
            finally:
                self.allow_srf = False
            scope.aliases = {n: e for n, e in zip(names, items, strict=True)}
            group = sel.args.get("group")
            group_exprs, grouping_sets = self._group_by(group, scope, items) \
                if group is not None else ([], None)
            having_node = sel.args.get("having")
            having = self.to_bool(self.expr(having_node.this, scope), "HAVING") \
                if having_node is not None else None
            order_node = sel.args.get("order")
            distinct = sel.args.get("distinct")
            order_keys = self._order_keys(order_node, scope, items, names) \
                if order_node is not None else []
        finally:
            self.allow_aggregates = False
            self.allow_windows = False
        all_exprs = items + ([having] if having is not None else []) + \
            [k[0] for k in order_keys if isinstance(k[0], Expr)]
        if group_exprs or _contains(all_exprs, AggCall):
            plan, items, having, order_keys = self._aggregate(
                plan, scope, group_exprs, grouping_sets, items, having, order_keys)
        elif having is not None:
            plan, items, having, order_keys = self._aggregate(plan, scope, [], None, items,
                                                              having, order_keys)
        if having is not None:
            plan = P.Filter(plan, having, plan.columns)
        if _contains(items + [k[0] for k in order_keys if isinstance(k[0], Expr)], WindowCall):
            plan, items, order_keys = self._window_stage(plan, items, order_keys)
        if _contains(items, SrfCall):
            plan, items, order_keys = self._project_set_stage(plan, items, order_keys)
        # projection, DISTINCT, ORDER BY, LIMIT
        out_cols = [self._out_col(e, n, scope) for e, n in zip(items, names, strict=True)]
        extra: list[Expr] = []
        sort_keys: list[P.SortKey] = []
        for key, desc, nulls_first in order_keys:
            if isinstance(key, int):
                sort_keys.append(P.SortKey(Col(key, items[key].type), desc, nulls_first))
                continue
            try:
                pos = items.index(key)
            except ValueError:
                if distinct is not None and not distinct.args.get("on"):
                    raise errors.InvalidColumnReference(
                        "for SELECT DISTINCT, ORDER BY expressions must appear in select "
                        "list") from None
                pos = len(items) + len(extra)
                extra.append(key)
            sort_keys.append(P.SortKey(Col(pos, key.type), desc, nulls_first))
        lock_targets: list[tuple[int, int]] = []
        if lock_tables is not None:
            # row keys ride along as hidden columns up to the LockRows node
            for entry in scope.entries:
                if entry.key_offset is not None:
                    lock_targets.append((entry.table_oid, len(items) + len(extra)))
                    extra.append(Col(entry.key_offset, T.RECORD, "?key?"))
        applied_order = list(sort_keys)     # for FETCH ... WITH TIES
        proj_exprs = items + extra
        plan = P.Project(plan, proj_exprs,
                         out_cols + [P.OutCol("?hidden?", e.type) for e in extra])
        if distinct is not None:
            on = distinct.args.get("on")
            if on is not None:
                on_exprs = []
                for o in on.expressions:
                    e = self._resolve_order_item(o, scope, items, names)
                    pos = e if isinstance(e, int) else (items.index(e) if e in items else None)
                    if pos is None:
                        pos = len(proj_exprs)
                        proj_exprs.append(e)
                        plan = P.Project(plan.input, proj_exprs,  # type: ignore[attr-defined]
                                         plan.columns + [P.OutCol("?on?", e.type)])
                    on_exprs.append(Col(pos, items[pos].type if pos < len(items)
                                        else proj_exprs[pos].type))
                if sort_keys:
                    lead = [k.expr for k in sort_keys[:len(on_exprs)]]
                    if [getattr(x, "index", None) for x in lead] != \
                            [x.index for x in on_exprs][:len(lead)]:
                        raise errors.InvalidColumnReference(
                            "SELECT DISTINCT ON expressions must match initial ORDER BY "
                            "expressions")
                    plan = P.Sort(plan, sort_keys, plan.columns)
                    sort_keys = []
                else:
                    plan = P.Sort(plan, [P.SortKey(c) for c in on_exprs], plan.columns)
                plan = P.Distinct(plan, plan.columns, on_exprs)
            else:
                plan = P.Distinct(plan, plan.columns)
        if sort_keys:
            plan = P.Sort(plan, sort_keys, plan.columns)
        if lock_tables is not None:
            if distinct is not None or _contains(items, AggCall):
                raise errors.FeatureNotSupported(
                    "FOR UPDATE is not allowed with DISTINCT clause or aggregate functions")
            wait = locks[0].args.get("wait")
            plan = P.LockRows(plan, lock_targets, plan.columns, nowait=wait is True,
                              skip_locked=wait is False)
        plan = self._limit(sel, plan, scope, applied_order)
        if len(plan.columns) != len(out_cols):
            plan = P.Project(plan, [Col(i, c.type, c.name) for i, c in enumerate(out_cols)],
                             out_cols)
        return plan

    def _check_lockable(self, sel: exp.Select) -> None:
        """FOR UPDATE/SHARE needs rows that map back to table rows."""
        what = None
        if sel.args.get("distinct"):
            what = "DISTINCT clause"
        elif sel.args.get("group"):
            what = "GROUP BY clause"
        elif sel.args.get("having"):
            what = "HAVING clause"
        elif any(isinstance(n, exp.Anonymous) and n.name.lower() in functions.AGGREGATES and
                 not isinstance(n.parent, exp.Window)
                 for e in sel.expressions for n in e.find_all(exp.Anonymous)):
            what = "aggregate functions"
        elif any(e.find(exp.Window) for e in sel.expressions):
            what = "window functions"
        if what is not None:
            kind = (sel.args["locks"][0].args.get("update") and "FOR UPDATE") or "FOR SHARE"
            raise errors.FeatureNotSupported(f"{kind} is not allowed with {what}")

    def _lock_targets(self, locks: list) -> list[str] | None:
        if not locks:
            return None
        names: list[str] = []
        for lk in locks:
            expressions = lk.args.get("expressions") or []
            names += [e.name for e in expressions]
        return names

    def _out_col(self, e: Expr, name: str, scope: Scope) -> P.OutCol:
        if isinstance(e, Col):
            for entry in scope.entries:
                if entry.table_oid and entry.offset <= e.index < entry.offset + len(
                        entry.names):
                    i = e.index - entry.offset
                    return P.OutCol(name, e.type, entry.table_oid,
                                    entry.attnums[i] if entry.attnums else 0)
        return P.OutCol(name, e.type)

    def _select_items(self, sel: exp.Select, scope: Scope,
                      keep_unknown: bool = False) -> tuple[list[Expr], list[str]]:
        items: list[Expr] = []
        names: list[str] = []
        for node in sel.expressions:
            target = node.this if isinstance(node, exp.Alias) else node
            if isinstance(target, exp.Star):
                if not scope.entries:
                    raise errors.SyntaxError("SELECT * with no tables specified is not valid")
                if scope.star is not None:
                    for n, e in scope.star:
                        items.append(e)
                        names.append(n)
                    continue
                for entry in scope.entries:
                    for i, n in enumerate(entry.names):
                        if n.startswith("?"):
                            continue
                        items.append(Col(entry.offset + i, entry.types[i], n))
                        names.append(n)
                continue
            if isinstance(target, exp.Dot) and isinstance(target.expression, exp.Star) and \
                    isinstance(target.this, exp.Paren):
                # (row).*: every field of a whole-row value
                row = self.expr(target.this, scope)
                if not isinstance(row, RowCtor) or row.names is None:
                    raise errors.FeatureNotSupported("(expression).* is only supported for "
                                                     "whole-row references")
                items += row.elems
                names += row.names
                continue
            if isinstance(target, exp.Column) and isinstance(target.this, exp.Star):
                entry = scope.find_entry(target.table, target.db or None)
                if entry is None:
                    raise errors.UndefinedTable(
                        f'missing FROM-clause entry for table "{target.table}"')
                for i, n in enumerate(entry.names):
                    items.append(Col(entry.offset + i, entry.types[i], n))
                    names.append(n)
                continue
            e = self.expr(target, scope)
            if e.type.oid == T.UNKNOWN.oid and not keep_unknown:
                e = self.coerce(e, T.TEXT)
            items.append(e)
            names.append(node.alias if isinstance(node, exp.Alias) else figure_colname(node))
        return items, names

    def _order_keys(self, order: exp.Order, scope: Scope, items: list[Expr],
                    names: list[str]) -> list[tuple[Any, bool, bool]]:
        keys = []
        for o in order.expressions:
            e = self._resolve_order_item(o.this, scope, items, names)
            keys.append((e, bool(o.args.get("desc")), bool(o.args.get("nulls_first"))))
        return keys

    def _resolve_order_item(self, node: exp.Expr, scope: Scope, items: list[Expr],
                            names: list[str]) -> Any:
        if isinstance(node, exp.Literal) and not node.is_string:
            idx = int(node.this)
            if not 1 <= idx <= len(items):
                raise errors.InvalidColumnReference(
                    f"ORDER BY position {idx} is not in select list")
            return idx - 1
        if isinstance(node, exp.Column) and not node.table and \
                not isinstance(node.this, exp.Star):
            name = node.name
            matches = [i for i, n in enumerate(names) if n == name]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1 and scope.lookup_local(None, name) is None:
                raise errors.AmbiguousColumn(f'ORDER BY "{name}" is ambiguous')
        e = self.expr(node, scope)
        if e.type.oid == T.UNKNOWN.oid:
            e = self.coerce(e, T.TEXT)
        return e

    def _limit(self, sel: exp.Expr, plan: P.Plan, scope: Scope,
               order: list[P.SortKey] | None = None) -> P.Plan:
        limit = sel.args.get("limit")
        offset = sel.args.get("offset")
        if limit is None and offset is None:
            return plan
        opts = limit.args.get("limit_options") if isinstance(limit, exp.Fetch) else None
        ties = None
        if opts is not None and opts.args.get("with_ties"):
            if not order:
                raise errors.SyntaxError("WITH TIES cannot be specified without ORDER BY clause")
            ties = order
        if opts is not None and opts.args.get("percent"):
            raise errors.SyntaxError("FETCH ... PERCENT is not supported")
        lim = self._limit_expr(limit, scope)
        off = self._limit_expr(offset, scope)
        if lim is None and off is None:
            return plan
        return P.Limit(plan, lim, off, plan.columns, ties)

    def _limit_expr(self, node: exp.Expr | None, scope: Scope) -> Expr | None:
        if node is None:
            return None
        inner = node.expression if isinstance(node, (exp.Limit, exp.Offset)) else node
        if isinstance(node, exp.Fetch):
            inner = node.args.get("count")
            if inner is None:
                return Const(1, T.INT8)
        if inner is None or (isinstance(inner, exp.Var) and inner.name.upper() == "ALL"):
            return None
        e = self.expr(inner, scope)
        if isinstance(e, Const) and e.value is None:
            return None
        return self.coerce(e, T.INT8)

    def _order_limit_over(self, plan: P.Plan, order: exp.Order | None, limit: Any, offset: Any,
                          scope: Scope) -> P.Plan:
        """ORDER BY / LIMIT applied to a set operation's result."""
        if order is not None:
            names = [c.name for c in plan.columns]
            items: list[Expr] = [Col(i, c.type, c.name) for i, c in enumerate(plan.columns)]
            keys = []
            out_scope = Scope(parent=scope)
            out_scope.add(ScopeEntry("", names, [c.type for c in plan.columns], 0))
            for o in order.expressions:
                e = self._resolve_order_item(o.this, out_scope, items, names)
                if isinstance(e, int):
                    e = items[e]
                keys.append(P.SortKey(e, bool(o.args.get("desc")),
                                      bool(o.args.get("nulls_first"))))
            plan = P.Sort(plan, keys, plan.columns)
        fake = exp.Select()
        if limit is not None:
            fake.set("limit", limit)
        if offset is not None:
            fake.set("offset", offset)
        return self._limit(fake, plan, scope)

    # --- set operations and VALUES -----------------------------------------------------------------------
    def bind_setop(self, q: exp.Expr, scope: Scope) -> P.Plan:
        pushed = self._push_ctes(q, scope)
        try:
            op = {exp.Union: "union", exp.Intersect: "intersect", exp.Except: "except"}[type(q)]
            # each branch is its own query level; correlations go to this level's frame
            left = self._bind_branch(q.this, scope)
            right = self._bind_branch(q.expression, scope)
            if len(left.columns) != len(right.columns):
                raise errors.SyntaxError(
                    f"each {op.upper()} query must have the same number of columns")
            types = []
            for lc, rc in zip(left.columns, right.columns, strict=True):
                types.append(self.common_type([Const(None, lc.type), Const(None, rc.type)],
                                              op.upper()))
            left = self._coerce_plan(left, types)
            right = self._coerce_plan(right, types)
            distinct = q.args.get("distinct")
            all_ = distinct is False
            cols = [P.OutCol(c.name, t) for c, t in zip(left.columns, types, strict=True)]
            plan: P.Plan = P.SetOp(op, all_, left, right, cols)
            plan = self._apply_outer_modifiers(q, plan, scope)
        except BaseException:
            if pushed:
                self.cte_stack.pop()
            raise
        return self.pop_ctes(pushed, plan)

    def _bind_branch(self, node: exp.Expr, scope: Scope) -> P.Plan:
        """A set operation's branch. Its untyped literals (NULL, 'x') stay
        unknown so that the other branches decide their type, as in
        PostgreSQL: SELECT NULL UNION SELECT 1 is an integer column."""
        self.keep_unknown = True
        try:
            return self.bind_query_node(node, Scope(parent=scope, owns_frame=False,
                                                    sees_parent_local=False))
        finally:
            self.keep_unknown = False

    def _coerce_plan(self, plan: P.Plan, types: list[T.SqlType]) -> P.Plan:
        if all(c.type.oid == t.oid for c, t in zip(plan.columns, types, strict=True)):
            return plan
        exprs = [self.coerce(Col(i, c.type, c.name), t) for i, (c, t) in
                 enumerate(zip(plan.columns, types, strict=True))]
        return P.Project(plan, exprs, [P.OutCol(c.name, t) for c, t in
                                       zip(plan.columns, types, strict=True)])

    def bind_values(self, q: exp.Values, scope: Scope,
                    targets: list[T.SqlType] | None = None) -> P.Plan:
        rows = []
        width = None
        for tup in q.expressions:
            nodes = tup.expressions if isinstance(tup, exp.Tuple) else [tup]
            if width is None:
                width = len(nodes)
            elif len(nodes) != width:
                raise errors.SyntaxError("VALUES lists must all be the same length")
            rows.append([self.expr(n, scope) for n in nodes])
        assert width is not None
        types = []
        for i in range(width):
            col = [r[i] for r in rows]
            types.append(targets[i] if targets is not None else
                         self.common_type(col, "VALUES"))
        rows = [[self.coerce(r[i], types[i], "a" if targets is not None else "i")
                 for i in range(width)] for r in rows]
        cols = [P.OutCol(f"column{i + 1}", t) for i, t in enumerate(types)]
        plan = P.Values(rows, cols)
        if q.args.get("order") or q.args.get("limit"):
            return self._apply_outer_modifiers(q, plan, scope)
        return plan
