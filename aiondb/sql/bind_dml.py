"""Binding INSERT / UPDATE / DELETE and a table's constraint rules."""

from __future__ import annotations

from typing import Any

import sqlglot
from sqlglot import exp

from aiondb import errors
from aiondb import types as T
from aiondb.sql import errpos
from aiondb.sql import plan as P
from aiondb.sql.bind_query import QueryBinder, figure_colname
from aiondb.sql.dialect import AionDB
from aiondb.sql.dml import ForeignKey, TableRules
from aiondb.sql.expr import Call, Col, Const, Expr
from aiondb.sql.expr_compile import compile_expr
from aiondb.sql.scope import Scope, ScopeEntry
from aiondb.storage.catalog import ColumnDef, IndexDef, TableDef
from aiondb.storage.table import index_key_fn


def parse_expression(sql: str) -> exp.Expr:
    """An expression stored as text in the catalog (defaults, checks)."""
    return sqlglot.parse_one(f"SELECT {sql}", read=AionDB).expressions[0]


class StatementBinder(QueryBinder):
    # --- shared ----------------------------------------------------------------------------------
    def target_table(self, node: exp.Expr) -> TableDef:
        table = node.this if isinstance(node, exp.Schema) else node
        if not isinstance(table, exp.Table):
            raise errors.FeatureNotSupported("unsupported target of data modification")
        rel, sys_view = self.lookup_relation(table.db or None, table.name, table)
        if sys_view is not None:
            raise errors.InsufficientPrivilege(
                f'permission denied: "{table.name}" is a system catalog')
        if not isinstance(rel, TableDef) or rel.kind == "m":
            kind = {"v": "view", "S": "sequence", "i": "index",
                    "m": "materialized view"}.get(getattr(rel, "kind", ""), "relation")
            raise errors.WrongObjectType(f'cannot change {kind} "{table.name}"')
        return rel

    def table_scope(self, tdef: TableDef, alias: str, offset: int = 0,
                    with_key: bool = False) -> ScopeEntry:
        return ScopeEntry(alias, [c.name for c in tdef.columns], [c.type for c in tdef.columns],
                          offset, tdef.oid, [c.attnum for c in tdef.columns], None, tdef,
                          offset + len(tdef.columns) if with_key else None)

    def column_default(self, tdef: TableDef, col: ColumnDef) -> Expr:
        if col.default is None or col.generated:   # generated: computed from the row
            return Const(None, col.type)
        node = parse_expression(col.default)
        saved = self.params
        self.params = []
        try:
            e = self.expr(node, Scope())
        finally:
            self.params = saved
        return self.coerce(e, col.type, "a", col.name)

    def returning(self, node: exp.Expr, scope: Scope) -> tuple[list[Expr] | None,
                                                               list[P.OutCol]]:
        ret = node.args.get("returning")
        if ret is None:
            return None, []
        exprs: list[Expr] = []
        cols: list[P.OutCol] = []
        for item in ret.expressions:
            target = item.this if isinstance(item, exp.Alias) else item
            if isinstance(target, exp.Star) or (isinstance(target, exp.Column) and
                                                isinstance(target.this, exp.Star)):
                entries = scope.entries if isinstance(target, exp.Star) else \
                    [scope.find_entry(target.table)]
                for entry in entries:
                    if entry is None:
                        raise errors.UndefinedTable("missing FROM-clause entry in RETURNING")
                    if entry.alias == "excluded":
                        continue
                    for i, n in enumerate(entry.names):
                        exprs.append(Col(entry.offset + i, entry.types[i], n))
                        cols.append(P.OutCol(n, entry.types[i]))
                continue
            e = self.expr(target, scope)
            if e.type.oid == T.UNKNOWN.oid:
                e = self.coerce(e, T.TEXT)
            exprs.append(e)
            cols.append(P.OutCol(item.alias if isinstance(item, exp.Alias)
                                 else figure_colname(item), e.type))
        return exprs, cols

    # --- INSERT -------------------------------------------------------------------------------------
    def bind_insert(self, node: exp.Insert) -> P.Plan:
        pushed = self._push_ctes(node, Scope())
        try:
            plan = self._bind_insert(node)
        except BaseException:
            if pushed:
                self.cte_stack.pop()
            raise
        return self.pop_ctes(pushed, plan)

    def _bind_insert(self, node: exp.Insert) -> P.Insert:
        target = node.this
        tdef = self.target_table(target)
        alias_node = target.args.get("alias") if isinstance(target, exp.Table) else None
        if isinstance(target, exp.Schema) and isinstance(target.this, exp.Table):
            alias_node = target.this.args.get("alias")
        alias = alias_node.name if alias_node is not None else tdef.name
        listed = target.expressions if isinstance(target, exp.Schema) else []
        names = [c.name for c in listed] if listed else [c.name for c in tdef.columns]
        positions = []
        for i, n in enumerate(names):
            col = tdef.column(n)
            if col is None:
                exc = errors.UndefinedColumn(
                    f'column "{n}" of relation "{tdef.name}" does not exist')
                errpos.locate(exc, listed[i] if listed else None)
                raise exc
            pos = tdef.columns.index(col)
            if pos in positions:
                raise errors.DuplicateColumn(f'column "{n}" specified more than once')
            positions.append(pos)
        src_node = node.expression
        target_types = [tdef.columns[p].type for p in positions]
        if node.args.get("default") or src_node is None:
            source: P.Plan = P.Values([[]], [])
            positions = []
        elif isinstance(src_node, exp.Values) or (isinstance(src_node, exp.Tuple)):
            if not (isinstance(target, exp.Schema) and target.expressions):
                # no column list: the values fill the leading columns
                tuples = src_node.expressions if isinstance(src_node, exp.Values) \
                    else [src_node]
                first = tuples[0]
                width = len(first.expressions) if isinstance(first, exp.Tuple) else 1
                if width > len(positions):
                    raise errors.SyntaxError("INSERT has more expressions than target columns")
                positions = positions[:width]
            source = self._insert_values(src_node, tdef, positions)
        else:
            q = src_node.this if isinstance(src_node, exp.Subquery) else src_node
            source = self.bind_query_node(q, Scope())
            if len(source.columns) > len(positions):
                raise errors.SyntaxError("INSERT has more expressions than target columns")
            positions = positions[:len(source.columns)]
            target_types = target_types[:len(source.columns)]
            exprs = [self.coerce(Col(i, c.type, c.name), t, "a", tdef.columns[p].name)
                     for i, (c, t, p) in enumerate(zip(source.columns, target_types, positions,
                                                       strict=True))]
            source = P.Project(source, exprs, [P.OutCol(tdef.columns[p].name, t) for p, t in
                                               zip(positions, target_types, strict=True)])
        overriding = node.args.get("overriding")
        if overriding == "user":
            # OVERRIDING USER VALUE: identity columns take their generated value
            keep = [i for i, p in enumerate(positions) if not tdef.columns[p].identity]
            if len(keep) != len(positions):
                source = P.Project(source, [Col(i, source.columns[i].type) for i in keep],
                                   [source.columns[i] for i in keep])
                positions = [positions[i] for i in keep]
        for p in positions:
            col = tdef.columns[p]
            if col.identity == "a" and overriding != "system" and \
                    not self._all_default(source, p, positions):
                raise errors.GeneratedAlways(
                    f'cannot insert a non-DEFAULT value into column "{col.name}"',
                    detail=f'Column "{col.name}" is an identity column defined as GENERATED '
                           "ALWAYS.", hint="Use OVERRIDING SYSTEM VALUE to override.")
            if col.generated and not self._all_default(source, p, positions):
                raise errors.GeneratedAlways(
                    f'cannot insert a non-DEFAULT value into column "{col.name}"',
                    detail=f'Column "{col.name}" is a generated column.')
        defaults = [(i, self.column_default(tdef, c)) for i, c in enumerate(tdef.columns)
                    if i not in positions]
        defaults = [(i, e) for i, e in defaults if not (isinstance(e, Const) and e.value is None)]
        scope = Scope()
        scope.add(self.table_scope(tdef, alias))
        on_conflict = self._on_conflict(node.args.get("conflict"), tdef, alias)
        returning, ret_cols = self.returning(node, scope)
        return P.Insert(tdef, source, positions, defaults, ret_cols, returning, on_conflict)

    def _all_default(self, source: P.Plan, pos: int, positions: list[int]) -> bool:
        if not isinstance(source, P.Values):
            return False
        i = positions.index(pos)
        return all(getattr(r[i], "is_default", False) for r in source.rows)

    def _insert_values(self, node: exp.Expr, tdef: TableDef, positions: list[int]) -> P.Values:
        tuples = node.expressions if isinstance(node, exp.Values) else [node]
        rows = []
        scope = Scope()
        for tup in tuples:
            items = tup.expressions if isinstance(tup, exp.Tuple) else [tup]
            if len(items) > len(positions):
                raise errors.SyntaxError("INSERT has more expressions than target columns")
            if len(items) < len(positions):
                raise errors.SyntaxError("INSERT has more target columns than expressions")
            row = []
            for item, p in zip(items, positions, strict=True):
                col = tdef.columns[p]
                if isinstance(item, exp.Var) and item.name.upper() == "DEFAULT" or \
                        isinstance(item, exp.Column) and item.name.upper() == "DEFAULT" and \
                        not item.table and not item.this.quoted:
                    d = self.column_default(tdef, col)
                    d.is_default = True  # type: ignore[attr-defined]
                    row.append(d)
                    continue
                row.append(self.coerce(self.expr(item, scope), col.type, "a", col.name))
            rows.append(row)
        cols = [P.OutCol(tdef.columns[p].name, tdef.columns[p].type) for p in positions]
        return P.Values(rows, cols)

    def _on_conflict(self, oc: exp.OnConflict | None, tdef: TableDef,
                     alias: str) -> P.OnConflict | None:
        if oc is None:
            return None
        act = oc.args.get("action")
        act_text = (act.name if isinstance(act, exp.Expr) else str(act or "")).upper()
        action = "nothing" if oc.args.get("nothing") or act_text == "DO NOTHING" else "update"
        conflict_keys = oc.args.get("conflict_keys")
        constraint = oc.args.get("constraint")
        index: IndexDef | None = None
        use_pk = False
        any_constraint = False
        if constraint is not None:
            cname = constraint.name
            for con in self.catalog.constraints_of(tdef.oid):
                if con.name == cname and con.kind in ("p", "u"):
                    if con.kind == "p":
                        use_pk = True
                    else:
                        index = self.catalog.relations.get(con.index_oid)
                    break
            else:
                raise errors.UndefinedObject(
                    f'constraint "{cname}" for table "{tdef.name}" does not exist')
        elif conflict_keys:
            index, use_pk = self._infer_arbiter(tdef, conflict_keys,
                                                oc.args.get("index_predicate"))
        else:
            if action == "update":
                raise errors.SyntaxError(
                    "ON CONFLICT DO UPDATE requires inference specification or constraint name",
                    hint="For example, ON CONFLICT (column_name).")
            any_constraint = True
        assignments: list[tuple[int, Expr]] = []
        where = None
        if action == "update":
            scope = Scope()
            scope.add(self.table_scope(tdef, alias))
            excluded = self.table_scope(tdef, "excluded", len(tdef.columns))
            excluded.table_oid = 0
            scope.add(excluded)
            for eq in oc.expressions:
                assignments += self._assignment(eq, tdef, scope)
            w = oc.args.get("where")
            if w is not None:
                where = self.to_bool(self.expr(w.this if isinstance(w, exp.Where) else w,
                                               scope), "WHERE")
        return P.OnConflict(action, index, use_pk, assignments, where, any_constraint)

    def _jsonb_assign(self, current: Expr, subs: list[exp.Expr], right: exp.Expr,
                      scope: Scope) -> Expr:
        """SET doc['a'][0] = v: jsonb subscripting, creating missing levels."""
        from aiondb.sql.fn_json import jsonb_assign
        keys: list[Expr] = []
        for sub in subs:
            if isinstance(sub, exp.Slice):
                raise errors.FeatureNotSupported("jsonb subscript does not support slices")
            k = self.expr(sub, scope)
            keys.append(self.coerce(k, T.INT4 if k.type.oid in T.INTEGER_TYPES else T.TEXT))
        value = self.coerce(self.expr(right, scope), T.JSONB, "a")
        return Call("jsonb_assign", [current, value] + keys, T.JSONB, jsonb_assign,
                    strict=False)

    def _assign_from_subquery(self, cols: list[exp.Expr], sub: exp.Subquery, tdef: TableDef,
                              scope: Scope) -> list[tuple[int, Expr]]:
        """SET (a, b) = (SELECT x, y ...): one row (or NULLs for none)."""
        from aiondb.sql.expr import SubqueryExpr
        sub_scope = Scope(parent=scope)
        plan = self.bind_query_node(sub.this, sub_scope)
        if len(plan.columns) != len(cols):
            raise errors.SyntaxError("number of columns does not match number of values")
        row = SubqueryExpr("row", plan, list(sub_scope.corr), T.RECORD)
        out = []
        for i, (c, oc) in enumerate(zip(cols, plan.columns, strict=True)):
            col = tdef.column(c.name)
            if col is None:
                exc = errors.UndefinedColumn(
                    f'column "{c.name}" of relation "{tdef.name}" does not exist')
                errpos.locate(exc, c)
                raise exc
            field = Call(f"field{i}", [row], oc.type,
                         (lambda r, i=i: None if r is None else r[i]), strict=False)
            out.append((tdef.columns.index(col), self.coerce(field, col.type, "a", col.name)))
        return out

    def _assignment(self, eq: exp.Expr, tdef: TableDef,
                    scope: Scope) -> list[tuple[int, Expr]]:
        if not isinstance(eq, exp.EQ):
            raise errors.SyntaxError(f"invalid assignment: {eq.sql(dialect=AionDB)}")
        left = eq.this
        if isinstance(left, exp.Tuple) or isinstance(left, exp.Paren):
            cols = left.expressions if isinstance(left, exp.Tuple) else [left.this]
            right = eq.expression
            if isinstance(right, exp.Subquery):
                return self._assign_from_subquery(cols, right, tdef, scope)
            values = right.expressions if isinstance(right, exp.Tuple) else None
            if values is None or len(values) != len(cols):
                raise errors.SyntaxError("number of columns does not match number of values")
            out = []
            for c, v in zip(cols, values, strict=True):
                out += self._assignment(exp.EQ(this=c, expression=v), tdef, scope)
            return out
        subscript = None
        subs: list[exp.Expr] = []
        if isinstance(left, exp.Bracket):       # SET a[i] = v, SET doc['k']['j'] = v
            while isinstance(left, exp.Bracket):
                subs = list(left.expressions) + subs
                left = left.this
            subscript = subs[0]
        name = left.name
        col = tdef.column(name)
        if col is None:
            exc = errors.UndefinedColumn(
                f'column "{name}" of relation "{tdef.name}" does not exist')
            errpos.locate(exc, left)
            raise exc
        pos = tdef.columns.index(col)
        right = eq.expression
        if subscript is not None and col.type.oid == T.JSONB.oid:
            return [(pos, self._jsonb_assign(Col(pos, col.type, col.name), subs, right, scope))]
        if subscript is not None:
            if len(subs) != 1 or isinstance(subs[0], exp.Slice):
                raise errors.FeatureNotSupported("assignment to an array slice or to several "
                                                 "subscripts is not supported")
            if col.type.elem is None:
                raise errors.DatatypeMismatch(
                    f'cannot subscript type {col.type.sql_name()} because it does not support '
                    "subscripting")
            from aiondb.sql.fn_array import array_assign
            current = Col(pos, col.type, col.name)
            idx = self.coerce(self.expr(subscript, scope), T.INT4)
            value = self.coerce(self.expr(right, scope), col.type.elem, "a", col.name)
            return [(pos, Call("array_assign", [current, idx, value], col.type, array_assign,
                               strict=False))]
        if isinstance(right, (exp.Var, exp.Column)) and right.name.upper() == "DEFAULT" and \
                not getattr(right, "table", None):
            return [(pos, self.column_default(tdef, col))]
        if col.generated:
            raise errors.GeneratedAlways(f'column "{col.name}" can only be updated to DEFAULT',
                                          detail=f'Column "{col.name}" is a generated column.')
        if col.identity == "a":
            raise errors.GeneratedAlways(f'column "{col.name}" can only be updated to DEFAULT',
                                          detail=f'Column "{col.name}" is an identity column '
                                                 "defined as GENERATED ALWAYS.")
        return [(pos, self.coerce(self.expr(right, scope), col.type, "a", col.name))]

    # --- UPDATE -----------------------------------------------------------------------------------
    def bind_update(self, node: exp.Update) -> P.Plan:
        pushed = self._push_ctes(node, Scope())
        try:
            plan = self._bind_update(node)
        except BaseException:
            if pushed:
                self.cte_stack.pop()
            raise
        return self.pop_ctes(pushed, plan)

    def _target_source(self, node: exp.Expr, extra_from: list[exp.Expr]) -> tuple[
            TableDef, Scope, P.Plan]:
        target = node.this
        tdef = self.target_table(target)
        alias_node = target.args.get("alias")
        alias = alias_node.name if alias_node is not None else tdef.name
        scope = Scope()
        scope.add(self.table_scope(tdef, alias, 0, with_key=True))
        cols = [P.OutCol(c.name, c.type, tdef.oid, c.attnum) for c in tdef.columns] + \
            [P.OutCol("?key?", T.RECORD)]
        plan: P.Plan = P.Scan(tdef, cols, with_key=True)
        scope.width = len(cols)
        for item in extra_from:
            right = self.from_item(item, scope, None, lateral_ok=False)
            plan = P.NestedLoopJoin(plan, right, "inner", None, plan.columns + right.columns)
        where = node.args.get("where")
        if where is not None:
            pred = self.to_bool(self.expr(where.this, scope), "WHERE")
            plan = P.Filter(plan, pred, plan.columns)
        return tdef, scope, plan

    def _bind_update(self, node: exp.Update) -> P.Update:
        from_ = node.args.get("from_") or node.args.get("from")
        extra = [from_.this] if from_ is not None else []
        if from_ is not None:
            extra += [j.this for j in (from_.args.get("joins") or [])]
        extra += [j.this for j in (node.args.get("joins") or [])]
        tdef, scope, plan = self._target_source(node, extra)
        assignments: list[tuple[int, Expr]] = []
        seen: set[int] = set()
        for eq in node.expressions:
            for pos, e in self._assignment(eq, tdef, scope):
                if pos in seen:
                    raise errors.SyntaxError(
                        f'multiple assignments to same column "{tdef.columns[pos].name}"')
                seen.add(pos)
                assignments.append((pos, e))
        returning, ret_cols = self.returning(node, scope)
        return P.Update(tdef, plan, assignments, ret_cols, returning, len(tdef.columns))

    # --- DELETE -------------------------------------------------------------------------------------
    def bind_delete(self, node: exp.Delete) -> P.Plan:
        pushed = self._push_ctes(node, Scope())
        try:
            using = node.args.get("using") or []
            tdef, scope, plan = self._target_source(node, list(using))
            returning, ret_cols = self.returning(node, scope)
            out: P.Plan = P.Delete(tdef, plan, ret_cols, returning, len(tdef.columns))
        except BaseException:
            if pushed:
                self.cte_stack.pop()
            raise
        return self.pop_ctes(pushed, out)

    def _infer_arbiter(self, tdef: TableDef, keys: list[exp.Expr],
                       where: exp.Expr | None) -> tuple[IndexDef | None, bool]:
        """ON CONFLICT (columns / expressions) [WHERE predicate]: the primary key
        or the unique index with exactly those keys (a partial one only when
        the WHERE repeats its predicate)."""
        from aiondb.sql.ddl_common import _sql
        attnums: list[int] = []
        exprs: list[str] = []
        for k in keys:
            while isinstance(k, (exp.Ordered, exp.Paren)):
                k = k.this
            if isinstance(k, (exp.Column, exp.Identifier)):
                c = tdef.column(k.name)
                if c is None:
                    raise errors.UndefinedColumn(f'column "{k.name}" does not exist')
                attnums.append(c.attnum)
            else:
                attnums.append(0)
                exprs.append(_sql(k))
        if not exprs and sorted(attnums) == sorted(tdef.pk):
            return None, True
        pred = _sql(where.this) if where is not None else None
        for idx in self.catalog.indexes_of(tdef.oid):
            if idx.unique and not idx.primary and sorted(idx.attnums) == sorted(attnums) and \
                    sorted(idx.exprs) == sorted(exprs) and idx.predicate in (None, pred):
                return idx, False
        raise errors.InvalidColumnReference(
            "there is no unique or exclusion constraint matching the ON CONFLICT specification")

    # --- constraint rules -----------------------------------------------------------------------------
    def table_rules(self, tdef: TableDef) -> TableRules:
        cat = self.catalog
        not_null = [i for i, c in enumerate(tdef.columns) if c.not_null]
        pk = set(tdef.pk_positions)
        not_null = sorted(set(not_null) | pk)
        checks = []
        scope = Scope()
        scope.add(self.table_scope(tdef, tdef.name))
        fks_out = []
        fks_in = []
        for con in cat.constraints_of(tdef.oid):
            if con.kind == "c" and con.expr:
                e = self.to_bool(self.expr(parse_expression(con.expr), scope), "CHECK")
                checks.append((con.name, compile_expr(e)))
            elif con.kind == "f":
                fks_out.append(self._fk(con))
        for con in cat.referencing(tdef.oid):
            fks_in.append(self._fk(con))
        generated = []
        for i, c in enumerate(tdef.columns):
            if c.generated and c.default is not None:
                e = self.coerce(self.expr(parse_expression(c.default), scope), c.type, "a",
                                c.name)
                generated.append((i, compile_expr(e)))
        index_keys = [index_key_fn(tdef, i) for i in cat.indexes_of(tdef.oid)
                      if i.exprs or i.predicate]
        return TableRules(tdef, not_null, checks, fks_out, fks_in, generated, index_keys)

    def _fk(self, con: Any) -> ForeignKey:
        cat = self.catalog
        child = cat.table(con.table_oid)
        parent = cat.table(con.ref_table_oid)
        parent_pos = parent.positions(con.ref_attnums)
        parent_index = None
        if tuple(sorted(con.ref_attnums)) != tuple(sorted(parent.pk)):
            for idx in cat.indexes_of(parent.oid):
                if idx.unique and tuple(idx.attnums) == tuple(con.ref_attnums) and \
                        not idx.predicate:
                    parent_index = idx
                    break
        child_pos = child.positions(con.attnums)
        defaults = []
        for p in child_pos:
            col = child.columns[p]
            d = self.column_default(child, col)
            defaults.append(compile_expr(d))
        return ForeignKey(con, child, child_pos, parent, parent_pos, parent_index, defaults)
