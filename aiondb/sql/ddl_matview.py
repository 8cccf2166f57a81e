"""Materialized views: CREATE MATERIALIZED VIEW ... [WITH [NO] DATA] and
REFRESH MATERIALIZED VIEW [CONCURRENTLY] ... [WITH [NO] DATA].

A materialized view is a table (MatViewDef) holding its query's rows as of
the last refresh; it can be indexed and read like a table, never written by
DML. Its query is kept as SQL text and bound again at each refresh."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql import ddl_parse as D
from aiondb.sql import temp_tables
from aiondb.sql.ddl_common import _binder, _result, _sql, check_pseudo_types
from aiondb.sql.scope import Scope
from aiondb.sql.view_names import qualify_relations
from aiondb.storage.catalog import ColumnDef, MatViewDef, TableDef
from aiondb.storage.table import NOT_INDEXED, TableData, index_key_fn, index_labels, key_has_null

if TYPE_CHECKING:
    from aiondb.sql.results import Result
    from aiondb.sql.session import Session
    from aiondb.storage.txn import Transaction


def create_matview(session: Session, txn: Transaction, node: D.CreateMatView) -> Result:
    cat = txn.begin_ddl()
    schema, name = node.name
    if schema is not None and temp_tables.is_temp_schema(schema):
        raise errors.FeatureNotSupported("materialized views must not use temporary tables "
                                         "or views")
    schema_oid = session.creation_schema(cat, schema)
    if (schema_oid, name) in cat.names:
        if node.if_not_exists:
            session.notice(f'relation "{name}" already exists, skipping', code="42P07")
            return _result("CREATE MATERIALIZED VIEW")
        raise errors.DuplicateTable(f'relation "{name}" already exists')
    plan, binder = _bind(session, cat, node.query.ast)
    if binder.params:
        raise errors.UndefinedParameter("there is no parameter $1")
    names = [c.name for c in plan.columns]
    if len(node.columns) > len(names):
        raise errors.SyntaxError("too many column names were specified")
    names[:len(node.columns)] = node.columns
    cols = tuple(ColumnDef(n, c.type if c.type.oid != T.UNKNOWN.oid else T.TEXT, i + 1)
                 for i, (n, c) in enumerate(zip(names, plan.columns, strict=True)))
    check_pseudo_types(cols)
    depends = tuple(sorted(set(_depends(plan)) | binder.views_read))
    temp = temp_tables.own_schema_oid(session, cat)
    if temp is not None and any(getattr(cat.relations.get(o), "schema_oid", 0) == temp
                                for o in depends):
        raise errors.FeatureNotSupported("materialized views must not use temporary tables "
                                         "or views")
    mv = MatViewDef(cat.allocate_oid(), name, schema_oid, cols, (), "heap", (), len(cols) + 1,
                    sql=_sql(qualify_relations(session, cat, node.query.ast)),
                    populated=node.with_data, depends=depends)
    cat.add_relation(mv)
    txn.create_table_data(mv)
    if not node.with_data:
        return _result("CREATE MATERIALIZED VIEW")
    rows = _run(session, txn, cat, plan)
    for r in rows:
        txn.insert(mv, r)
    return _result(f"SELECT {len(rows)}")


def refresh_matview(session: Session, txn: Transaction, node: D.RefreshMatView) -> Result:
    cat = txn.catalog
    rel, _ = session.resolve_relation(cat, node.name[0], node.name[1])
    if not isinstance(rel, MatViewDef):
        raise errors.FeatureNotSupported(f'"{node.name[1]}" is not a materialized view')
    if node.concurrently:
        if not node.with_data:
            raise errors.FeatureNotSupported(
                "REFRESH options CONCURRENTLY and WITH NO DATA cannot be used together")
        if not rel.populated:
            raise errors.FeatureNotSupported(
                "CONCURRENTLY cannot be used when the materialized view is not populated")
        if not any(i.unique and not i.predicate and not i.exprs for i in cat.indexes_of(rel.oid)):
            raise errors.ObjectNotInPrerequisiteState(
                f'cannot refresh materialized view "{_qualified_name(cat, rel)}" concurrently',
                hint="Create a unique index with no WHERE clause on one or more columns of "
                     "the materialized view.")
    if rel.populated != node.with_data:
        cat = txn.begin_ddl()
        rel = replace(rel, populated=node.with_data)
        cat.replace_relation(rel)
    txn.lock_table_exclusive(rel.oid)
    td = TableData(rel, cat.indexes_of(rel.oid))
    if node.with_data:
        parsed = session.engine.parse(rel.sql)
        plan, _ = _bind(session, cat, parsed[0].ast)
        for r in _run(session, txn, cat, plan):
            td.rows[txn.db.next_rowid()] = tuple(r)
        _check_unique(rel, td, cat.indexes_of(rel.oid))
    td.load(())
    txn.replace_table_data(rel.oid, td, "rewritten")
    return _result("REFRESH MATERIALIZED VIEW")


def _bind(session: Session, cat: Any, ast: Any) -> tuple[Any, Any]:
    binder = _binder(session, cat)
    return binder.bind_query_node(ast, Scope()), binder


def _run(session: Session, txn: Transaction, cat: Any, plan: Any) -> list[tuple]:
    from aiondb.sql.executor import build
    from aiondb.sql.planner import optimize
    op = build(optimize(plan, cat))
    return [tuple(r) for r in op.rows(session.make_context(txn, [], cat))]


def _depends(plan: Any) -> tuple[int, ...]:
    from aiondb.sql.plan import walk_plan
    return tuple(sorted({p.table.oid for p in walk_plan(plan)
                         if isinstance(getattr(p, "table", None), TableDef)}))


def _check_unique(mv: MatViewDef, td: TableData, indexes: list[Any]) -> None:
    for idx in indexes:
        if not idx.unique:
            continue
        kf = index_key_fn(mv, idx)
        seen: set[Any] = set()
        for r in td.rows.values():
            k = kf(r)
            if k is NOT_INDEXED or key_has_null(k):
                continue
            if k in seen:
                vals = k if isinstance(k, tuple) else (k,)
                raise errors.UniqueViolation(
                    f'could not create unique index "{idx.name}"',
                    detail=f"Key ({', '.join(index_labels(mv, idx))})="
                           f"({', '.join(str(v) for v in vals)}) is duplicated.")
            seen.add(k)


def _qualified_name(cat: Any, rel: Any) -> str:
    s = cat.schema_by_oid(rel.schema_oid)
    return f"{s.name}.{rel.name}" if s is not None else rel.name
