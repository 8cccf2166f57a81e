"""WITH binding: plain, data-modifying and recursive CTEs, including the
SEARCH and CYCLE clauses of recursive ones."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from aiondb import errors
from aiondb import types as T
from aiondb.sql import plan as P
from aiondb.sql.dialect import CteCycle, CteSearch
from aiondb.sql.expr import ArrayCtor, Call, Col, Const, Expr, RowCtor
from aiondb.sql.scope import Scope

_RECORD_ARRAY = T.RECORD.array_of()


class CteBinder:
    """WITH clauses (a mixin of QueryBinder)."""

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
            elif recursive and self._references(body, name):
                _check_recursion(body, name)
                assert isinstance(body, exp.Union)
                self._bind_recursive_cte(cdef, body, colnames, frame, scope, cte)
            elif cte.args.get("search") is not None or cte.args.get("cycle") is not None:
                raise errors.SyntaxError("WITH query is not recursive")
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
                            frame: dict, scope: Scope, cte: exp.CTE) -> None:
        cdef.union_all = bool(body.args.get("distinct") is False)
        left = body.this
        right = body.expression
        seed = self.bind_query_node(left, Scope(parent=scope, owns_frame=False,
                                                sees_parent_local=False))
        cols = self._cte_columns(seed, colnames, cdef.name)
        sc = _SearchCycle(cte, cols, self) \
            if cte.args.get("search") is not None or cte.args.get("cycle") is not None else None
        if sc is not None:
            seed = sc.seed_plan(seed)
            right = sc.recursive_term(right, cdef.name)
            cols = cols + sc.extra_cols
        cdef.plan = seed
        frame[cdef.name] = (cdef, cols, "work")
        rec = self.bind_query_node(right, Scope(parent=scope, owns_frame=False,
                                                sees_parent_local=False))
        if len(rec.columns) != len(cols):
            raise errors.DatatypeMismatch("each UNION query must have the same number of "
                                          "columns")
        rec = self._coerce_plan(rec, [c.type for c in cols])
        if sc is not None:
            rec = sc.step_plan(rec)
        cdef.recursive_plan = rec
        frame[cdef.name] = (cdef, cols)

    def _lookup_cte(self, name: str) -> tuple | None:
        for frame in reversed(self.cte_stack):
            if name in frame:
                return frame[name]
        return None


class _SearchCycle:
    """A recursive CTE's SEARCH and CYCLE clauses, done as PostgreSQL rewrites
    them: the non-recursive term starts the sequence column (DEPTH: an array
    of ROW(search columns); BREADTH: ROW(depth, search columns)) and the
    cycle path; the recursive term carries the previous row's values, extends
    them, sets the cycle mark when the row is already on the path, and does
    not expand rows already marked."""

    def __init__(self, cte: exp.CTE, cols: list[P.OutCol], binder: Any) -> None:
        names = [c.name for c in cols]
        self.n = len(cols)
        self.search: CteSearch | None = cte.args.get("search")
        self.cycle: CteCycle | None = cte.args.get("cycle")
        self.extra_cols: list[P.OutCol] = []
        if self.search is not None:
            self.search_idx = _column_positions(self.search.expressions, names, "search")
            seq = self.search.this.name
            self.depth_first = self.search.args["kind"] == "DEPTH"
            self.extra_cols.append(P.OutCol(seq, _RECORD_ARRAY if self.depth_first
                                            else T.RECORD))
        if self.cycle is not None:
            self.cycle_idx = _column_positions(self.cycle.expressions, names, "cycle")
            mark, path = self.cycle.this.name, self.cycle.args["using"].name
            if mark == path:
                raise errors.SyntaxError(
                    "cycle mark column name and cycle path column name are the same")
            if self.search is not None:
                seq = self.search.this.name
                if seq == mark:
                    raise errors.SyntaxError(
                        "search sequence column name and cycle mark column name are the same")
                if seq == path:
                    raise errors.SyntaxError(
                        "search sequence column name and cycle path column name are the same")
            to_node, default_node = self.cycle.args.get("to"), self.cycle.args.get("default")
            if to_node is None:
                to_e: Expr = Const(True, T.BOOL)
                default_e: Expr = Const(False, T.BOOL)
            else:
                to_e = binder.expr(to_node, Scope())
                default_e = binder.expr(default_node, Scope())
            mtype = binder.common_type([to_e, default_e], "CYCLE")
            to_e, default_e = binder.coerce(to_e, mtype), binder.coerce(default_e, mtype)
            assert isinstance(to_e, Const) and isinstance(default_e, Const)
            self.mark_to, self.mark_default = to_e.value, default_e.value
            self.extra_cols += [P.OutCol(mark, mtype), P.OutCol(path, _RECORD_ARRAY)]
        for c in self.extra_cols:
            if c.name in names:
                raise errors.AmbiguousColumn(f'column reference "{c.name}" is ambiguous')

    def _row(self, idx: list[int], cols: list[P.OutCol]) -> RowCtor:
        return RowCtor([Col(i, cols[i].type, cols[i].name) for i in idx])

    def seed_plan(self, seed: P.Plan) -> P.Plan:
        cols = seed.columns
        exprs: list[Expr] = [Col(i, c.type, c.name) for i, c in enumerate(cols)]
        if self.search is not None:
            row = self._row(self.search_idx, cols)
            exprs.append(ArrayCtor([row], _RECORD_ARRAY) if self.depth_first else
                         RowCtor([Const(0, T.INT8)] + row.elems))
        if self.cycle is not None:
            exprs.append(Const(self.mark_default, self.extra_cols[-2].type))
            exprs.append(ArrayCtor([self._row(self.cycle_idx, cols)], _RECORD_ARRAY))
        return P.Project(seed, exprs, list(cols) + self.extra_cols)

    def recursive_term(self, node: exp.Expr, name: str) -> exp.Expr:
        """The recursive SELECT, also returning the previous row's sequence,
        mark and path columns and skipping rows already marked as a cycle."""
        refs = [t for t in node.find_all(exp.Table) if t.name == name and not t.db]
        if len(refs) > 1:
            raise errors.InvalidRecursion(
                f'recursive reference to query "{name}" must not appear more than once')
        top = []
        if isinstance(node, exp.Select):
            items = [node.args.get("from_") or node.args.get("from")]
            items += list(node.args.get("joins") or [])
            top = [i.this for i in items if i is not None]
        if not refs or refs[0] not in top:
            raise errors.FeatureNotSupported(
                f'with a SEARCH or CYCLE clause, the recursive reference to WITH query "{name}" '
                "must be at the top level of its right-hand SELECT")
        ref = refs[0].alias_or_name
        node = node.copy()
        for c in self.extra_cols:
            node.select(exp.column(exp.to_identifier(c.name, quoted=True),
                                   table=exp.to_identifier(ref, quoted=True)), copy=False)
        if self.cycle is not None:
            mark = exp.column(exp.to_identifier(self.extra_cols[-2].name, quoted=True),
                              table=exp.to_identifier(ref, quoted=True))
            to = self.cycle.args.get("to")
            node.where(exp.NEQ(this=mark, expression=to.copy()) if to is not None
                       else exp.Not(this=mark), copy=False)
        return node

    def step_plan(self, rec: P.Plan) -> P.Plan:
        cols = rec.columns
        n = self.n
        exprs: list[Expr] = [Col(i, c.type, c.name) for i, c in enumerate(cols[:n])]
        prev = n
        if self.search is not None:
            row = self._row(self.search_idx, cols)
            prev_seq = Col(prev, cols[prev].type)
            if self.depth_first:
                exprs.append(Call("search_depth", [prev_seq, row], _RECORD_ARRAY,
                                  lambda p, r: p + [r], strict=False))
            else:
                exprs.append(Call("search_breadth", [prev_seq, row], T.RECORD,
                                  lambda p, r: (p[0] + 1, *r), strict=False))
            prev += 1
        if self.cycle is not None:
            row = self._row(self.cycle_idx, cols)
            path = Col(prev + 1, _RECORD_ARRAY)
            to, default = self.mark_to, self.mark_default
            # rows compare as records do: NULL fields equal each other
            exprs.append(Call("cycle_mark", [row, path], cols[prev].type,
                              lambda r, p: to if r in p else default, strict=False))
            exprs.append(Call("cycle_path", [path, row], _RECORD_ARRAY,
                              lambda p, r: p + [r], strict=False))
        return P.Project(rec, exprs, list(cols[:n]) + self.extra_cols)


def _column_positions(ids: list[exp.Expr], names: list[str], what: str) -> list[int]:
    out: list[int] = []
    for ident in ids:
        if ident.name not in names:
            raise errors.SyntaxError(
                f'{what} column "{ident.name}" not in WITH query column list')
        i = names.index(ident.name)
        if i in out:
            raise errors.DuplicateColumn(f'{what} column "{ident.name}" specified more than once')
        out.append(i)
    return out


# --- PostgreSQL's rules for a well-formed recursive query ------------------------------------------

_LIMITS = (("order", "ORDER BY"), ("offset", "OFFSET"), ("limit", "LIMIT"))
# a select's clauses in the order PostgreSQL's parser walks them
_CLAUSE_ORDER = ("distinct", "expressions", "from_", "from", "joins", "laterals", "where",
                 "group", "having", "windows", "qualify", "order", "limit", "offset")


def _check_recursion(body: exp.Expr, name: str) -> None:
    """non-recursive-term UNION [ALL] recursive-term, the recursive term
    reading the CTE exactly once, outside subqueries and outer joins' nullable
    sides, with no aggregates; no ORDER BY / LIMIT / OFFSET / FOR UPDATE."""
    if not isinstance(body, exp.Union):
        raise errors.InvalidRecursion(
            f'recursive query "{name}" does not have the form non-recursive-term UNION [ALL] '
            "recursive-term")
    for key, what in _LIMITS:
        if body.args.get(key) is not None:
            raise errors.FeatureNotSupported(f"{what} in a recursive query is not implemented")
    right = body.expression
    if isinstance(right, exp.Select) and right.args.get("locks"):
        raise errors.FeatureNotSupported(
            "FOR UPDATE/SHARE in a recursive query is not implemented")
    if any(t.name == name and not t.db for t in body.this.find_all(exp.Table)):
        raise errors.InvalidRecursion(
            f'recursive reference to query "{name}" must not appear within its non-recursive '
            "term")
    seen = [0]
    _walk_recursive_term(right, name, None, seen)
    if isinstance(right, exp.Select) and _has_aggregate(right):
        raise errors.InvalidRecursion(
            "aggregate functions are not allowed in a recursive query's recursive term")


def _walk_recursive_term(node: exp.Expr, name: str, context: str | None, seen: list[int]) -> None:
    if isinstance(node, exp.Table):
        if node.name == name and not node.db:
            if context is not None:
                raise errors.InvalidRecursion(
                    f'recursive reference to query "{name}" must not appear within {context}')
            seen[0] += 1
            if seen[0] > 1:
                raise errors.InvalidRecursion(
                    f'recursive reference to query "{name}" must not appear more than once')
        return
    if isinstance(node, (exp.Intersect, exp.Except)):
        what = "INTERSECT" if isinstance(node, exp.Intersect) else "EXCEPT"
        _walk_recursive_term(node.this, name, context or what, seen)
        _walk_recursive_term(node.expression, name, context or what, seen)
        return
    if isinstance(node, exp.Select):
        joins = list(node.args.get("joins") or [])
        # RIGHT / FULL joins make everything joined before them nullable
        later_outer = [any(j.side in ("RIGHT", "FULL") for j in joins[i + 1:])
                       for i in range(len(joins))]
        for key in _CLAUSE_ORDER:
            val = node.args.get(key)
            if val is None:
                continue
            if key in ("from_", "from"):
                outer = bool(joins) and any(j.side in ("RIGHT", "FULL") for j in joins)
                _walk_recursive_term(val, name, context or (outer and "an outer join") or None,
                                     seen)
            elif key == "joins":
                for i, j in enumerate(val):
                    outer = j.side in ("LEFT", "FULL") or later_outer[i]
                    _walk_recursive_term(j, name, context or (outer and "an outer join") or None,
                                         seen)
            else:
                for child in val if isinstance(val, list) else [val]:
                    if isinstance(child, exp.Expr):
                        _walk_recursive_term(child, name, context, seen)
        return
    sublink = isinstance(node, (exp.Exists, exp.Any, exp.All)) or (
        isinstance(node, exp.Subquery)
        and not isinstance(node.parent, (exp.From, exp.Join, exp.SetOperation))) \
        or (isinstance(node, exp.In) and node.args.get("query") is not None)
    for child in node.iter_expressions():
        _walk_recursive_term(child, name, context or (sublink and "a subquery") or None, seen)


def _has_aggregate(sel: exp.Select) -> bool:
    """An aggregate call of this query level (not of a nested subquery)."""
    from aiondb.sql.aggregates import is_aggregate

    def visit(n: exp.Expr) -> bool:
        if isinstance(n, exp.Window):      # an aggregate used as a window function
            return False
        if isinstance(n, exp.Anonymous) and is_aggregate(n.name.lower()):
            return True
        if isinstance(n, exp.AggFunc):
            return True
        return any(visit(c) for c in n.iter_expressions()
                   if not isinstance(c, (exp.Select, exp.Subquery, exp.SetOperation)))
    return any(visit(e) for key in ("expressions", "having")
               for e in ([sel.args[key]] if isinstance(sel.args.get(key), exp.Expr)
                         else sel.args.get(key) or []))
