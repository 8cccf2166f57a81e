"""Query binding: SELECT, VALUES, set operations, FROM items and joins,
grouping, window functions, ORDER BY / LIMIT, CTEs (incl. WITH RECURSIVE)."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from aiondb import errors
from aiondb import types as T
from aiondb.sql import functions
from aiondb.sql import plan as P
from aiondb.sql.bind_calls import grouping_marker
from aiondb.sql.binder import Binder, resolve_type
from aiondb.sql.dialect import AionDB
from aiondb.sql.expr import (
    AggCall,
    Call,
    Col,
    Const,
    Expr,
    RowCtor,
    SrfCall,
    SubqueryExpr,
    WindowCall,
    transform,
    walk,
)
from aiondb.sql.scope import Scope, ScopeEntry
from aiondb.storage.catalog import SequenceDef, TableDef, ViewDef


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
    if isinstance(node, exp.Window):
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


def _zip_arrays(ctx: Any, *arrays: list | None) -> list[tuple]:
    """unnest(a, b, ...) in FROM: the arrays side by side, NULL past the shorter."""
    lists = [a or [] for a in arrays]
    n = max((len(a) for a in lists), default=0)
    return [tuple(a[i] if i < len(a) else None for a in lists) for i in range(n)]


def _contains(exprs: list[Expr], cls: type) -> bool:
    for e in exprs:
        for n in walk(e):
            if isinstance(n, cls):
                return True
            if isinstance(n, SubqueryExpr):
                continue
    return False


class QueryBinder(Binder):
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

    # --- WITH ---------------------------------------------------------------------------------------
    def _push_ctes(self, q: exp.Expr, scope: Scope) -> bool:
        with_ = q.args.get("with_") or q.args.get("with")
        if with_ is None:
            return False
        recursive = bool(with_.args.get("recursive"))
        frame: dict[str, Any] = {}
        self.cte_stack.append(frame)
        for cte in with_.expressions:
            name = cte.alias
            if name in frame:
                raise errors.DuplicateAlias(f'WITH query name "{name}" specified more than once')
            alias = cte.args.get("alias")
            colnames = [c.name for c in alias.columns] if alias is not None and alias.columns \
                else None
            body = cte.this
            self._cte_ids += 1
            cdef = P.CteDef(name, id=self._cte_ids)
            if isinstance(body, (exp.Insert, exp.Update, exp.Delete)):
                self._bind_dml_cte(cdef, body, colnames, frame)
            elif recursive and isinstance(body, exp.Union) and self._references(body, name):
                self._bind_recursive_cte(cdef, body, colnames, frame, scope)
            else:
                plan = self.bind_query_node(body, Scope(parent=scope, owns_frame=False,
                                                        sees_parent_local=False))
                cdef.plan = plan
                frame[name] = (cdef, self._cte_columns(plan, colnames, name))
        return True

    def _bind_dml_cte(self, cdef: P.CteDef, body: exp.Expr, colnames: list[str] | None,
                      frame: dict) -> None:
        """WITH x AS (INSERT/UPDATE/DELETE ... RETURNING ...): its RETURNING rows
        are the query's rows; RunCtes makes it run once whatever reads it."""
        if getattr(self, "query_depth", 0) > 1:
            raise errors.FeatureNotSupported(
                "WITH clause containing a data-modifying statement must be at the top level")
        saved = getattr(self, "query_depth", 0)
        self.query_depth = 2      # a WITH inside it is not at the top level
        try:
            if isinstance(body, exp.Insert):
                plan: P.Plan = self.bind_insert(body)      # type: ignore[attr-defined]
            elif isinstance(body, exp.Update):
                plan = self.bind_update(body)               # type: ignore[attr-defined]
            else:
                plan = self.bind_delete(body)               # type: ignore[attr-defined]
        finally:
            self.query_depth = saved
        cdef.plan = plan
        cdef.dml = True
        self.volatile = True      # a statement that writes is never a read-only one
        frame[cdef.name] = (cdef, self._cte_columns(plan, colnames, cdef.name))

    def pop_ctes(self, pushed: bool, plan: P.Plan) -> P.Plan:
        """Leave a WITH's scope; its data-modifying queries wrap the plan."""
        if not pushed:
            return plan
        frame = self.cte_stack.pop()
        dml = [entry[0] for entry in frame.values() if entry[0].dml]
        return P.RunCtes(plan, dml, plan.columns) if dml else plan

    def _references(self, node: exp.Expr, name: str) -> bool:
        for t in node.find_all(exp.Table):
            if t.name == name and not t.db:
                return True
        return False

    def _cte_columns(self, plan: P.Plan, colnames: list[str] | None,
                     name: str) -> list[P.OutCol]:
        cols = [P.OutCol(c.name, c.type) for c in plan.columns]
        if colnames:
            if len(colnames) > len(cols):
                raise errors.SyntaxError(
                    f'WITH query "{name}" has {len(cols)} columns available but '
                    f"{len(colnames)} columns specified")
            for i, n in enumerate(colnames):
                cols[i] = P.OutCol(n, cols[i].type)
        return cols

    def _bind_recursive_cte(self, cdef: P.CteDef, body: exp.Union, colnames: list[str] | None,
                            frame: dict, scope: Scope) -> None:
        cdef.union_all = bool(body.args.get("distinct") is False)
        left = body.this
        right = body.expression
        seed = self.bind_query_node(left, Scope(parent=scope, owns_frame=False,
                                                sees_parent_local=False))
        cols = self._cte_columns(seed, colnames, cdef.name)
        cdef.plan = seed
        frame[cdef.name] = (cdef, cols, "work")
        rec = self.bind_query_node(right, Scope(parent=scope, owns_frame=False,
                                                sees_parent_local=False))
        if len(rec.columns) != len(cols):
            raise errors.DatatypeMismatch("each UNION query must have the same number of "
                                          "columns")
        rec = self._coerce_plan(rec, [c.type for c in cols])
        cdef.recursive_plan = rec
        frame[cdef.name] = (cdef, cols)

    def _lookup_cte(self, name: str) -> tuple | None:
        for frame in reversed(self.cte_stack):
            if name in frame:
                return frame[name]
        return None

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

    # --- aggregation ----------------------------------------------------------------------------------
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

    # --- FROM ----------------------------------------------------------------------------------------------
    def bind_from(self, first: exp.Expr, joins: list[exp.Join], scope: Scope,
                  lock_tables: list[str] | None) -> P.Plan:
        plan = self.from_item(first, scope, lock_tables, lateral_ok=False)
        for j in joins:
            plan = self._join(plan, j, scope, lock_tables)
        return plan

    def _star_columns(self, entries: list[ScopeEntry]) -> list[tuple[str, Expr]]:
        return [(n, Col(e.offset + i, e.types[i], n)) for e in entries
                for i, n in enumerate(e.names) if not n.startswith("?")]

    def _merge_star(self, scope: Scope, nleft: int, names: list[str]) -> None:
        """`SELECT *` over JOIN ... USING / NATURAL JOIN: the merged columns
        first, then the left side's other columns, then the right side's."""
        left = scope.star if scope.star is not None else \
            self._star_columns(scope.entries[:nleft])
        right = self._star_columns(scope.entries[nleft:])

        def without(cols: list[tuple[str, Expr]]) -> list[tuple[str, Expr]]:
            out, dropped = [], set()
            for n, e in cols:
                if n in names and n not in dropped:
                    dropped.add(n)
                    continue
                out.append((n, e))
            return out
        scope.star = [(n, scope.using[n]) for n in names] + without(left) + without(right)

    def _join(self, left: P.Plan, j: exp.Join, scope: Scope,
              lock_tables: list[str] | None) -> P.Plan:
        side = (j.args.get("side") or "").lower()
        kind = (j.args.get("kind") or "").lower()
        method = (j.args.get("method") or "").lower()
        jkind = {"left": "left", "right": "right", "full": "full"}.get(side, "inner")
        if kind == "cross":
            jkind = "cross"
        lateral = isinstance(j.this, exp.Lateral) or jkind == "cross" or jkind == "inner" or \
            jkind == "left"
        offset = scope.width
        nentries = len(scope.entries)
        right, corr = self._from_item_lateral(j.this, scope, lock_tables, offset,
                                              allow_lateral=lateral)
        new_entries = scope.entries[nentries:]
        cols = left.columns + right.columns
        cond: Expr | None = None
        using = j.args.get("using")
        if method == "natural":
            left_names = {n for e in scope.entries[:nentries] for n in e.names}
            right_names = [n for e in new_entries for n in e.names]
            using_names = [n for n in right_names if n in left_names]
            cond = self._using(scope, nentries, using_names, jkind)
        elif using:
            cond = self._using(scope, nentries, [u.name for u in using], jkind)
        if method == "natural" or using:
            self._merge_star(scope, nentries, using_names if method == "natural"
                             else [u.name for u in using])
        elif scope.star is not None:
            scope.star = scope.star + self._star_columns(new_entries)
        on = j.args.get("on")
        if on is not None:
            c = self.to_bool(self.expr(on, scope), "JOIN/ON")
            cond = c if cond is None else self._and(cond, c)
        if jkind == "cross":
            jkind = "inner"
        if cond is None and jkind in ("left", "right", "full") and method != "natural":
            raise errors.SyntaxError(f"syntax error: {jkind.upper()} JOIN requires ON or USING")
        if corr and jkind in ("right", "full"):
            raise errors.FeatureNotSupported(
                "the combining JOIN type must be INNER or LEFT for a LATERAL reference")
        return P.NestedLoopJoin(left, right, jkind, cond, cols, corr or None)

    def _and(self, a: Expr, b: Expr) -> Expr:
        from aiondb.sql.expr import BoolOp
        return BoolOp("and", [a, b])

    def _using(self, scope: Scope, nleft: int, names: list[str], jkind: str) -> Expr | None:
        from aiondb.sql.expr import BoolOp, Coalesce
        conds = []
        left_entries = scope.entries[:nleft]
        right_entries = scope.entries[nleft:]
        for name in names:
            lcol = self._find_in(left_entries, name)
            rcol = self._find_in(right_entries, name)
            if lcol is None or rcol is None:
                raise errors.UndefinedColumn(
                    f'column "{name}" specified in USING clause does not exist in '
                    f'{"left" if lcol is None else "right"} table')
            conds.append(self.operator("=", lcol, rcol))
            if jkind == "full":
                t = self.common_type([lcol, rcol], "JOIN/USING")
                scope.using[name] = Coalesce([self.coerce(lcol, t), self.coerce(rcol, t)], t)
            elif jkind == "right":
                scope.using[name] = rcol
            else:
                scope.using[name] = lcol
        if not conds:
            return None
        return conds[0] if len(conds) == 1 else BoolOp("and", conds)

    def _find_in(self, entries: list[ScopeEntry], name: str) -> Expr | None:
        found = None
        for e in entries:
            i = e.column(name)
            if i is not None:
                if found is not None:
                    raise errors.AmbiguousColumn(f'common column name "{name}" appears more '
                                                 "than once in left table")
                found = Col(e.offset + i, e.types[i], name)
        return found

    def _from_item_lateral(self, node: exp.Expr, scope: Scope, lock_tables: list[str] | None,
                           offset: int, allow_lateral: bool) -> tuple[P.Plan, list[Expr]]:
        """Bind a join's right side. LATERAL items see the left side through
        their own correlation frame; the join passes those values."""
        is_lateral = isinstance(node, exp.Lateral) or self._is_function_item(node)
        if not is_lateral:
            return self.from_item(node, scope, lock_tables, lateral_ok=False), []
        lat_scope = Scope(parent=scope)
        target = node.this if isinstance(node, exp.Lateral) else node
        alias = node.args.get("alias") if isinstance(node, exp.Lateral) else None
        plan = self._bind_lateral_target(target, alias, scope, lat_scope, offset)
        if lat_scope.corr and not allow_lateral:
            raise errors.FeatureNotSupported("LATERAL reference with this join type")
        return plan, list(lat_scope.corr)

    def _is_function_item(self, node: exp.Expr) -> bool:
        inner = node.this if isinstance(node, exp.Table) else None
        return isinstance(node, exp.Table) and isinstance(inner, (exp.Anonymous, exp.Func)) \
            or isinstance(node, exp.Unnest)

    def _bind_lateral_target(self, target: exp.Expr, alias: Any, scope: Scope,
                             lat_scope: Scope, offset: int) -> P.Plan:
        # bind in a throw-away scope whose parent is the current FROM scope
        tmp = Scope(parent=lat_scope)
        if isinstance(target, exp.Subquery) or isinstance(target, exp.Select):
            q = target.this if isinstance(target, exp.Subquery) else target
            a = alias or target.args.get("alias")
            plan = self.bind_query_node(q, lat_scope)
            return self._add_derived(plan, a, scope, offset)
        if isinstance(target, (exp.Anonymous, exp.Unnest)):
            # LATERAL f(...): a function item whose arguments see the left side
            fn_node = exp.Table(this=target, alias=alias)
            if target.parent is not None and target.parent.args.get("ordinality"):
                fn_node.set("ordinality", True)
            plan = self._function_item(target, alias, tmp, 0, lat_scope, fn_node)
        else:
            plan = self.from_item(target, tmp, None, lateral_ok=True, bind_scope=lat_scope)
        for e in tmp.entries:
            e.offset += offset
            scope.add(e)
        return plan

    def from_item(self, node: exp.Expr, scope: Scope, lock_tables: list[str] | None,
                  lateral_ok: bool, bind_scope: Scope | None = None) -> P.Plan:
        offset = scope.width
        if isinstance(node, exp.Table):
            inner = node.this
            if isinstance(inner, (exp.Anonymous, exp.Func)) and not isinstance(inner,
                                                                                exp.Table):
                return self._function_item(inner, node.args.get("alias"), scope, offset,
                                           bind_scope or scope, node)
            if isinstance(inner, exp.Values):
                plan = self.bind_values(inner, scope)
                return self._add_derived(plan, node.args.get("alias"), scope, offset)
            return self._table_item(node, scope, offset, lock_tables)
        if isinstance(node, exp.Subquery) and isinstance(node.this, exp.Table) and \
                node.this.args.get("joins"):
            # (a JOIN b ON ...): a parenthesized join tree
            if node.args.get("alias") is not None:
                raise errors.FeatureNotSupported("an alias on a parenthesized JOIN is not "
                                                 "supported")
            inner = node.this.copy()
            joins = inner.args.pop("joins")
            return self.bind_from(inner, joins, scope, lock_tables)
        if isinstance(node, exp.Subquery):
            if node.args.get("alias") is None:
                raise errors.SyntaxError("subquery in FROM must have an alias",
                                         hint="For example, FROM (SELECT ...) [AS] foo.")
            inner_scope = Scope(parent=scope, owns_frame=False, sees_parent_local=False)
            plan = self.bind_query_node(node.this, inner_scope)
            return self._add_derived(plan, node.args.get("alias"), scope, offset)
        if isinstance(node, exp.Values):
            if node.args.get("alias") is None:
                raise errors.SyntaxError("VALUES in FROM must have an alias",
                                         hint="For example, FROM (VALUES ...) [AS] foo.")
            plan = self.bind_values(node, scope)
            return self._add_derived(plan, node.args.get("alias"), scope, offset)
        if isinstance(node, exp.Unnest):
            return self._function_item(node, node.args.get("alias"), scope, offset,
                                       bind_scope or scope, node)
        if isinstance(node, exp.Lateral):
            plan, corr = self._from_item_lateral(node, scope, lock_tables, offset, True)
            if corr:
                raise errors.FeatureNotSupported("LATERAL as the first FROM item")
            return plan
        if isinstance(node, exp.Paren):
            return self.from_item(node.this, scope, lock_tables, lateral_ok, bind_scope)
        raise errors.FeatureNotSupported(f"FROM item {type(node).__name__} is not supported")

    def _add_derived(self, plan: P.Plan, alias: Any, scope: Scope, offset: int) -> P.Plan:
        names = [c.name for c in plan.columns]
        name = ""
        if alias is not None:
            name = alias.name
            cols = alias.columns if hasattr(alias, "columns") else []
            if cols:
                if len(cols) > len(names):
                    raise errors.SyntaxError(
                        f'table "{name}" has {len(names)} columns available but '
                        f"{len(cols)} columns specified")
                for i, c in enumerate(cols):
                    names[i] = c.name
        scope.add(ScopeEntry(name, names, [c.type for c in plan.columns], offset))
        return plan

    def _function_item(self, fn: exp.Expr, alias: Any, scope: Scope, offset: int,
                       bind_scope: Scope, table_node: exp.Expr) -> P.Plan:
        ordinality = bool(table_node.args.get("ordinality")) if isinstance(
            table_node, exp.Table) else bool(fn.args.get("offset"))
        if isinstance(fn, exp.Unnest):
            name = "unnest"
            args = [self.expr(a, bind_scope) for a in fn.expressions]
        elif isinstance(fn, exp.Anonymous):
            name = fn.name.lower()
            args = [self.expr(a, bind_scope) for a in fn.expressions]
        else:
            raise errors.FeatureNotSupported(
                f"function {fn.sql(dialect=AionDB)} in FROM is not supported")
        special = self._special_srf(name, args, alias)
        if special is not None:
            d, cols, args = special
        elif name in functions.SRFS:
            d, argtypes, cols = functions.resolve_srf(name, [a.type for a in args])
            args = [self.coerce(a, t) for a, t in zip(args, argtypes, strict=False)]
        else:
            # a scalar function in FROM yields one row
            call = self.call(name, args)
            from aiondb.sql.functions import SrfDef

            def one(ctx: Any, *vals: Any, _call: Any = call) -> Any:
                from aiondb.sql.expr import compile_expr
                return [(compile_expr(_call)((), ctx),)]
            d = SrfDef(name, (), lambda ts: [(name, call.type)], one, False)
            cols = [(name, call.type)]
            args = []
        out = [P.OutCol(n, t) for n, t in cols]
        if ordinality:
            out.append(P.OutCol("ordinality", T.INT8))
        names = [c.name for c in out]
        a_name = name
        if alias is not None:
            a_name = alias.name or name
            acols = alias.columns if hasattr(alias, "columns") else []
            if acols:
                for i, c in enumerate(acols):
                    if i < len(names):
                        names[i] = c.name
            elif len(cols) == 1 and alias.name:
                names[0] = alias.name
        off = fn.args.get("offset") if isinstance(fn, exp.Unnest) else None
        if ordinality and isinstance(off, exp.Identifier):
            names[-1] = off.name      # sqlglot moves unnest's last alias column here
        out = [P.OutCol(n, c.type) for n, c in zip(names, out, strict=True)]
        scope.add(ScopeEntry(a_name, names, [c.type for c in out], offset))
        return P.FunctionScan(d, args, out, ordinality)

    def _special_srf(self, name: str, args: list[Expr], alias: Any) -> tuple | None:
        """FROM items whose columns depend on more than argument types:
        unnest(a, b, ...) zips arrays of any element types; json[b]_to_record[set]
        take their columns from the alias' column definition list."""
        from aiondb.sql.functions import SrfDef
        if name == "unnest" and len(args) > 1:
            for a in args:
                if a.type.elem is None and a.type.oid != T.UNKNOWN.oid:
                    raise errors.UndefinedFunction(
                        functions.describe_call(name, [x.type for x in args]) +
                        " does not exist")
            args = [self.coerce(a, T.TEXT.array_of()) if a.type.oid == T.UNKNOWN.oid else a
                    for a in args]
            cols = [("unnest", a.type.elem or T.TEXT) for a in args]
            return SrfDef(name, (), lambda ts: cols, _zip_arrays, False), cols, args
        if name in ("jsonb_to_record", "jsonb_to_recordset", "json_to_record",
                    "json_to_recordset"):
            defs = [c for c in (alias.columns if alias is not None else [])
                    if isinstance(c, exp.ColumnDef)]
            if not defs:
                raise errors.SyntaxError(
                    'a column definition list is required for functions returning "record"')
            if len(args) != 1:
                raise errors.UndefinedFunction(
                    functions.describe_call(name, [a.type for a in args]) + " does not exist")
            cols = [(c.name, resolve_type(c.args["kind"])) for c in defs]
            arg = self.coerce(args[0], T.JSONB)
            from aiondb.sql.fn_json import json_to_rows
            many = name.endswith("set")

            def impl(ctx: Any, doc: Any) -> list[tuple]:
                return json_to_rows(ctx, doc, cols, many)
            return SrfDef(name, (), lambda ts: cols, impl, True), cols, [arg]
        return None

    def _table_item(self, node: exp.Table, scope: Scope, offset: int,
                    lock_tables: list[str] | None) -> P.Plan:
        name = node.name
        schema = node.db or None
        alias_node = node.args.get("alias")
        alias = alias_node.name if alias_node is not None and alias_node.name else name
        colaliases = [c.name for c in alias_node.columns] if alias_node is not None and \
            alias_node.columns else []
        if schema is None:
            cte = self._lookup_cte(name)
            if cte is not None:
                cdef, cols = cte[0], cte[1]
                names = [c.name for c in cols]
                for i, c in enumerate(colaliases):
                    names[i] = c
                outs = [P.OutCol(n, c.type) for n, c in zip(names, cols, strict=True)]
                scope.add(ScopeEntry(alias, names, [c.type for c in cols], offset))
                if len(cte) > 2:
                    return P.WorkTableScan(cdef, outs)
                if cdef.dml and not outs:
                    raise errors.FeatureNotSupported(
                        f'WITH query "{cdef.name}" does not have a RETURNING clause')
                return P.CteScan(cdef, outs)
        rel, sys_view = self.lookup_relation(schema, name)
        if sys_view is not None:
            names = [c.name for c in sys_view.columns]
            for i, c in enumerate(colaliases):
                names[i] = c
            scope.add(ScopeEntry(alias, names, [c.type for c in sys_view.columns], offset,
                                 sys_view.oid, list(range(1, len(names) + 1)),
                                 schema=schema))
            return P.SystemScan(sys_view.name, sys_view.columns, sys_view.producer)
        if isinstance(rel, ViewDef):
            return self._view_item(rel, alias, colaliases, scope, offset)
        if isinstance(rel, SequenceDef):
            return self._sequence_item(rel, alias, colaliases, scope, offset)
        if not isinstance(rel, TableDef):
            raise errors.WrongObjectType(f'"{name}" is not a table')
        tdef = rel
        names = [c.name for c in tdef.columns]
        for i, c in enumerate(colaliases):
            names[i] = c
        types = [c.type for c in tdef.columns]
        with_key = lock_tables is not None and (not lock_tables or alias in lock_tables)
        entry = ScopeEntry(alias, names, types, offset, tdef.oid,
                           [c.attnum for c in tdef.columns], schema, tdef,
                           offset + len(names) if with_key else None)
        scope.add(entry)
        cols = [P.OutCol(n, t, tdef.oid, c.attnum) for n, t, c in zip(names, types,
                                                                      tdef.columns, strict=True)]
        if with_key:
            cols.append(P.OutCol("?key?", T.RECORD))
        return P.Scan(tdef, cols, with_key)

    def lookup_relation(self, schema: str | None, name: str) -> tuple[Any, Any]:
        """A relation named in a query; PostgreSQL reports a missing schema
        here as a missing relation (42P01), unlike DDL (3F000)."""
        try:
            return self.session.resolve_relation(self.catalog, schema, name)
        except errors.InvalidSchemaName:
            raise errors.UndefinedTable(f'relation "{schema}.{name}" does not exist') from None

    def _sequence_item(self, seq: SequenceDef, alias: str, colaliases: list[str],
                       scope: Scope, offset: int) -> P.Plan:
        """SELECT ... FROM a sequence: its one row (last_value, log_cnt,
        is_called). log_cnt, PostgreSQL's count of pre-logged values, is
        always 0 here: every nextval is logged with its transaction."""
        names = ["last_value", "log_cnt", "is_called"]
        types = [T.INT8, T.INT8, T.BOOL]
        for i, c in enumerate(colaliases[:3]):
            names[i] = c
        oid, start = seq.oid, seq.start

        def produce(ctx: Any) -> list[tuple]:
            state = ctx.db.seq_values.get(oid) if getattr(ctx, "db", None) is not None \
                else None
            last, called = state if state else (start, False)
            return [(last, 0, called)]
        scope.add(ScopeEntry(alias, names, types, offset))
        return P.SystemScan(seq.name, [P.OutCol(n, t) for n, t in zip(names, types,
                                                                       strict=True)], produce)

    def _view_item(self, view: ViewDef, alias: str, colaliases: list[str], scope: Scope,
                   offset: int) -> P.Plan:
        plan = self.session.bind_view(self.catalog, view, self)
        names = [c.name for c in plan.columns]
        for i, c in enumerate(colaliases):
            names[i] = c
        scope.add(ScopeEntry(alias, names, [c.type for c in plan.columns], offset))
        return plan

