"""Binding of FROM: tables, views, sequences, system views, derived tables,
VALUES, function items (set-returning functions, unnest(a, b, ...),
jsonb_to_record with column definitions, WITH ORDINALITY), LATERAL items
and joins (ON, USING, NATURAL, with PostgreSQL's `*` column order).

A mixin of QueryBinder (bind_query.py)."""

from __future__ import annotations

import random
import zlib
from typing import Any

from sqlglot import exp

from aiondb import errors
from aiondb import types as T
from aiondb.sql import errpos, functions
from aiondb.sql import plan as P
from aiondb.sql.dialect import AionDB
from aiondb.sql.expr import (
    Call,
    Col,
    Const,
    Expr,
    RowCtor,
)
from aiondb.sql.scope import Scope, ScopeEntry
from aiondb.sql.typenames import resolve_type
from aiondb.storage.catalog import MatViewDef, SequenceDef, TableDef, ViewDef


def _zip_arrays(ctx: Any, *arrays: list | None) -> list[tuple]:
    """unnest(a, b, ...) in FROM: the arrays side by side, NULL past the shorter."""
    lists = [a or [] for a in arrays]
    n = max((len(a) for a in lists), default=0)
    return [tuple(a[i] if i < len(a) else None for a in lists) for i in range(n)]


class FromBinder:
    """FROM-clause binding; mixed into QueryBinder."""

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
            sample = node.args.get("sample")
            plan = self._table_item(node, scope, offset, lock_tables)
            return self._tablesample(sample, plan, scope) if sample is not None else plan
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
                from aiondb.sql.expr_compile import compile_expr
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
        rel, sys_view = self.lookup_relation(schema, name, node)
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
        if isinstance(tdef, MatViewDef) and not tdef.populated:
            raise errors.ObjectNotInPrerequisiteState(
                f'materialized view "{tdef.name}" has not been populated',
                hint="Use the REFRESH MATERIALIZED VIEW command.")
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

    def _tablesample(self, sample: exp.TableSample, plan: P.Plan, scope: Scope) -> P.Plan:
        """TABLESAMPLE {BERNOULLI | SYSTEM} (percent) [REPEATABLE (seed)]: each
        row is kept with the given probability (SYSTEM, block sampling in
        PostgreSQL, samples rows here too). With REPEATABLE the choice for a
        row is a function of the seed and the row, so it repeats."""
        method = sample.args.get("method")
        mname = (method.name if isinstance(method, exp.Expr) else str(method or "")).lower()
        if mname not in ("bernoulli", "system"):
            raise errors.UndefinedObject(f'tablesample method "{mname}" does not exist')
        if not isinstance(plan, P.Scan):
            raise errors.FeatureNotSupported(
                "TABLESAMPLE clause can only be applied to tables and materialized views")
        outer = Scope(parent=scope)       # the arguments may not read the table's columns
        pct = self.coerce(self.expr(sample.args["percent"], outer), T.FLOAT4)
        seed_node = sample.args.get("seed")
        seed = self.coerce(self.expr(seed_node, outer), T.FLOAT8) if seed_node is not None \
            else Const(None, T.FLOAT8)
        row = RowCtor([Col(i, c.type, c.name) for i, c in enumerate(plan.columns)
                       if c.name != "?key?"])
        repeatable = seed_node is not None
        rng = random.Random()

        def keep(percent: Any, s: Any, values: tuple) -> bool:
            if percent is None:
                raise errors.InvalidTablesampleArgument("TABLESAMPLE parameter cannot be null")
            if not 0 <= percent <= 100:
                raise errors.InvalidTablesampleArgument(
                    "sample percentage must be between 0 and 100")
            if repeatable:
                if s is None:
                    raise errors.InvalidTablesampleRepeat(
                        "TABLESAMPLE REPEATABLE parameter cannot be null")
                h = zlib.crc32(repr((s, values)).encode())
                return h / 4294967296.0 < percent / 100.0
            return rng.random() < percent / 100.0
        pred = Call("tablesample", [pct, seed, row], T.BOOL, keep, strict=False, volatile=True)
        return P.Filter(plan, pred, plan.columns)

    def lookup_relation(self, schema: str | None, name: str,
                        node: exp.Expr | None = None) -> tuple[Any, Any]:
        """A relation named in a query; PostgreSQL reports a missing schema
        here as a missing relation (42P01), unlike DDL (3F000)."""
        try:
            try:
                return self.session.resolve_relation(self.catalog, schema, name)
            except errors.InvalidSchemaName:
                raise errors.UndefinedTable(
                    f'relation "{schema}.{name}" does not exist') from None
        except errors.UndefinedTable as exc:
            errpos.locate(exc, node)
            raise

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
        self.views_read.add(view.oid)
        plan = self.session.bind_view(self.catalog, view, self)
        names = [c.name for c in plan.columns]
        for i, c in enumerate(colaliases):
            names[i] = c
        scope.add(ScopeEntry(alias, names, [c.type for c in plan.columns], offset))
        return plan
