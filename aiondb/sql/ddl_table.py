"""CREATE TABLE (and CREATE TABLE AS, LIKE) and its column definitions:
types, serial and identity sequences, defaults, generated columns and
column constraints. Shared helpers are in ddl_common.py, table constraints
in ddl_constraints.py."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from aiondb import errors
from aiondb import types as T
from aiondb.sql import ddl_parse as D
from aiondb.sql import deferred, temp_tables
from aiondb.sql.binder import resolve_type
from aiondb.sql.ddl_common import (
    _binder,
    _result,
    _sql,
    _table_scope,
    _unique_name,
    check_pseudo_types,
)
from aiondb.sql.ddl_constraints import _add_table_constraint
from aiondb.sql.scope import Scope
from aiondb.sql.view_names import bind_relation_constants
from aiondb.storage.catalog import Catalog, ColumnDef, SequenceDef, TableDef

if TYPE_CHECKING:
    from aiondb.sql.results import Result
    from aiondb.sql.session import Session
    from aiondb.storage.txn import Transaction

_SERIALS = {exp.DType.SERIAL: T.INT4, exp.DType.BIGSERIAL: T.INT8,
            exp.DType.SMALLSERIAL: T.INT2}
ENGINES = ("heap",)


# --- column helpers ------------------------------------------------------------------------------

def _bind_default(session: Session, cat: Catalog, col: ColumnDef, node: exp.Expr) -> str:
    binder = _binder(session, cat)
    try:
        e = binder.expr(node, Scope())
    except errors.UndefinedColumn:
        raise errors.FeatureNotSupported(
            "cannot use column reference in DEFAULT expression") from None
    binder.coerce(e, col.type, "a", col.name)
    return _sql(bind_relation_constants(session, cat, node))


def _validate_generated(session: Session, cat: Catalog, tdef: TableDef) -> None:
    """A STORED generation expression: the table's other, non-generated
    columns only, no subqueries, nothing volatile, assignable to the column."""
    for col in tdef.columns:
        if not col.generated or col.default is None:
            continue
        node = D.parse_expr_text(col.default)
        if node.find(exp.Subquery, exp.Select, exp.Exists) is not None:
            raise errors.FeatureNotSupported(
                "cannot use subquery in column generation expression")
        for ref in node.find_all(exp.Column):
            other = tdef.column(ref.name)
            if other is not None and other.generated:
                raise errors.InvalidObjectDefinition(
                    f'cannot use generated column "{ref.name}" in column generation '
                    "expression", detail="A generated column cannot reference another "
                                         "generated column.")
        binder = _binder(session, cat)
        e = binder.expr(node, _table_scope(binder, tdef))
        if binder.volatile:
            raise errors.InvalidObjectDefinition("generation expression is not immutable")
        binder.coerce(e, col.type, "a", col.name)


def _column_type(kind: exp.DataType) -> tuple[T.SqlType, bool]:
    """(type, is_serial)."""
    if kind.this in _SERIALS:
        return _SERIALS[kind.this], True
    if kind.this == exp.DType.USERDEFINED:
        name = _sql(kind.args["kind"]).lower() if isinstance(kind.args.get("kind"), exp.Expr) \
            else str(kind.args.get("kind")).lower()
        if name in ("serial", "serial4"):
            return T.INT4, True
        if name in ("bigserial", "serial8"):
            return T.INT8, True
        if name in ("smallserial", "serial2"):
            return T.INT2, True
    return resolve_type(kind), False


def _new_sequence(cat: Catalog, schema_oid: int, table: str, col: str, t: T.SqlType,
                  start: int = 1, increment: int = 1, name: str | None = None) -> SequenceDef:
    """A serial or identity column's sequence: `name`, else a free
    "<table>_<column>_seq"."""
    if name is None:
        name = _unique_name(cat, schema_oid, f"{table}_{col}_seq")
    elif cat.lookup(schema_oid, name) is not None:
        raise errors.DuplicateTable(f'relation "{name}" already exists')
    lo, hi, _ = T.INT_RANGES[t.oid]
    seq = SequenceDef(cat.allocate_oid(), name, schema_oid, t, start, increment,
                      1 if increment > 0 else lo, hi if increment > 0 else -1)
    cat.add_relation(seq)
    return seq


def nextval_default(seq: Any) -> str:
    """A serial or identity column's default: its sequence bound by OID, as
    in PostgreSQL (pg_get_expr prints the name)."""
    return f"nextval('{seq.oid}'::regclass)"


# --- CREATE TABLE ----------------------------------------------------------------------------------

def create_table(session: Session, txn: Transaction, node: exp.Create) -> Result:
    target = node.this
    table = target.this if isinstance(target, exp.Schema) else target
    props = node.args.get("properties")
    engine = "heap"
    temporary = table.db in ("pg_temp", temp_tables.schema_name(session))
    on_commit = None
    for p in (props.expressions if props is not None else []):
        if isinstance(p, exp.TemporaryProperty):
            temporary = True
        elif isinstance(p, exp.OnCommitProperty):
            on_commit = "drop" if p.args.get("drop") else \
                "delete" if p.args.get("delete") else "preserve"
        elif isinstance(p, exp.FileFormatProperty):
            engine = p.this.name.lower() if isinstance(p.this, exp.Expr) else str(p.this).lower()
        elif isinstance(p, exp.PartitionedByProperty):
            raise errors.FeatureNotSupported("partitioned tables (PARTITION BY) are not "
                                             "supported")
        elif isinstance(p, exp.InheritsProperty):
            raise errors.FeatureNotSupported("table inheritance (INHERITS) is not supported")
        elif isinstance(p, exp.TableSpaceProperty):
            if p.name != "pg_default":
                raise errors.UndefinedObject(f'tablespace "{p.name}" does not exist')
        elif not isinstance(p, (exp.Property, exp.UnloggedProperty)):
            # WITH (storage_parameter = ...) and UNLOGGED are accepted and ignored:
            # every table is logged, and storage parameters have no meaning here
            raise errors.FeatureNotSupported(f"CREATE TABLE option {_sql(p)} is not supported")
    if engine not in ENGINES:
        raise errors.FeatureNotSupported(f'table access method "{engine}" is not supported yet')
    if on_commit is not None and not temporary:
        raise errors.InvalidTableDefinition("ON COMMIT can only be used on temporary tables")
    cat = txn.begin_ddl()
    if temporary:
        if table.db and not temp_tables.is_temp_schema(table.db):
            raise errors.InvalidTableDefinition(
                "cannot create temporary relation in non-temporary schema")
        schema_oid = temp_tables.ensure_schema(session, txn, cat)
    else:
        schema_oid = session.creation_schema(cat, table.db or None)
    name = table.name
    if (schema_oid, name) in cat.names:
        if node.args.get("exists"):
            session.notice(f'relation "{name}" already exists, skipping', code="42P07")
            return _result("CREATE TABLE")
        raise errors.DuplicateTable(f'relation "{name}" already exists')
    query = node.args.get("expression")
    if query is not None:
        result = _create_table_as(session, txn, cat, schema_oid, name, target, query)
        if on_commit in ("delete", "drop"):
            rel = cat.lookup(schema_oid, name)
            assert rel is not None
            temp_tables.on_commit(session, rel.oid, on_commit)
        return result
    elements = target.expressions if isinstance(target, exp.Schema) else []
    oid = cat.allocate_oid()
    cols: list[ColumnDef] = []
    pending_constraints: list[tuple[str | None, exp.Expr, str | None]] = []
    serials: list[tuple[int, T.SqlType, dict]] = []
    for el in elements:
        if isinstance(el, exp.ColumnDef):
            cname = el.name
            if any(c.name == cname for c in cols):
                raise errors.DuplicateColumn(f'column "{cname}" specified more than once')
            kind = el.args.get("kind")
            if kind is None:
                raise errors.SyntaxError(f'column "{cname}" has no type')
            ctype, is_serial = _column_type(kind)
            col = ColumnDef(cname, ctype, len(cols) + 1, not_null=is_serial)
            if is_serial:
                serials.append((len(cols), ctype, {}))
            for cc in el.args.get("constraints") or []:
                col = _column_constraint(session, cat, col, cc, pending_constraints, serials,
                                         len(cols))
            cols.append(col)
        elif isinstance(el, exp.LikeProperty):
            for col in _like_columns(session, cat, el, pending_constraints):
                if any(c.name == col.name for c in cols):
                    raise errors.DuplicateColumn(f'column "{col.name}" specified more than once')
                cols.append(replace(col, attnum=len(cols) + 1))
        else:
            pending_constraints.append((None, el, None))
    tdef = TableDef(oid, name, schema_oid, tuple(cols), (), engine, (), len(cols) + 1)
    cat.add_relation(tdef)
    for pos, ctype, opts in serials:
        col = tdef.columns[pos]
        seq = _new_sequence(cat, schema_oid, name, col.name, ctype, opts.get("start", 1),
                            opts.get("increment", 1))
        seq = replace(seq, owned_by=(oid, col.attnum))
        cat.replace_relation(seq)
        txn.db.seq_values.setdefault(seq.oid, [seq.start, False])
        cols[pos] = replace(col, default=nextval_default(seq),
                            sequence_oid=seq.oid, not_null=True)
    tdef = replace(tdef, columns=tuple(cols))
    cat.replace_relation(tdef)
    _validate_generated(session, cat, tdef)
    used: set[str] = set()
    for cname, el, col_name in pending_constraints:
        tdef = _add_table_constraint(session, txn, cat, tdef, el, cname, col_name, used,
                                     creating=True)
    txn.create_table_data(tdef)
    if on_commit in ("delete", "drop"):
        temp_tables.on_commit(session, tdef.oid, on_commit)
    return _result("CREATE TABLE")


def _like_columns(session: Session, cat: Catalog, el: exp.LikeProperty,
                  pending: list) -> list[ColumnDef]:
    """LIKE source [INCLUDING/EXCLUDING DEFAULTS | CONSTRAINTS | INDEXES | ALL]:
    names, types and NOT NULL always; the rest as the options ask."""
    src = el.this
    rel, sysv = session.resolve_relation(cat, src.db or None, src.name)
    if not isinstance(rel, TableDef):
        raise errors.WrongObjectType(f'"{src.name}" is not a table')
    include: set[str] = set()
    for opt in el.expressions:
        how = str(opt.this).upper()
        what = opt.args["value"].name.upper() if isinstance(opt.args.get("value"), exp.Expr) \
            else str(opt.args.get("value")).upper()
        kinds = {"DEFAULTS", "CONSTRAINTS", "INDEXES", "IDENTITY", "GENERATED", "STORAGE",
                 "COMMENTS", "COMPRESSION", "STATISTICS"} if what == "ALL" else {what}
        include = include | kinds if how == "INCLUDING" else include - kinds
    out = []
    for c in rel.columns:
        out.append(ColumnDef(c.name, c.type, 0, not_null=c.not_null,
                             default=c.default if "DEFAULTS" in include and not c.identity
                             else None))
    if "CONSTRAINTS" in include:
        for con in cat.constraints_of(rel.oid):
            if con.kind == "c" and con.expr:
                pending.append((con.name, exp.CheckColumnConstraint(
                    this=D.parse_expr_text(con.expr)), None))
    if "INDEXES" in include:
        names = {c.attnum: c.name for c in rel.columns}
        for con in cat.constraints_of(rel.oid):
            cols = [exp.to_identifier(names[a]) for a in con.attnums]
            if con.kind == "p":
                pending.append((None, exp.PrimaryKey(expressions=cols), None))
            elif con.kind == "u":
                pending.append((None, exp.UniqueColumnConstraint(
                    this=exp.Schema(expressions=cols)), None))
    return out


def _column_constraint(session: Session, cat: Catalog, col: ColumnDef, cc: exp.Expr,
                       pending: list, serials: list, pos: int) -> ColumnDef:
    kind = cc.args.get("kind") if isinstance(cc, exp.ColumnConstraint) else cc
    cname = cc.name if isinstance(cc, exp.ColumnConstraint) and cc.this is not None else None
    if isinstance(kind, exp.NotNullColumnConstraint):
        return replace(col, not_null=not kind.args.get("allow_null"))
    if isinstance(kind, exp.DefaultColumnConstraint):
        return replace(col, default=_bind_default(session, cat, col, kind.this))
    if isinstance(kind, (exp.PrimaryKeyColumnConstraint, exp.UniqueColumnConstraint)):
        deferred.reject_deferrable(kind)
    if isinstance(kind, exp.PrimaryKeyColumnConstraint):
        pending.append((cname, exp.PrimaryKey(expressions=[exp.to_identifier(col.name)]),
                        col.name))
        return replace(col, not_null=True)
    if isinstance(kind, exp.UniqueColumnConstraint):
        pending.append((cname, exp.UniqueColumnConstraint(
            this=exp.Schema(expressions=[exp.to_identifier(col.name)])), col.name))
        return col
    if isinstance(kind, exp.CheckColumnConstraint):
        pending.append((cname, kind, col.name))
        return col
    if isinstance(kind, exp.Reference):
        fk = exp.ForeignKey(expressions=[exp.to_identifier(col.name)], reference=kind)
        pending.append((cname, fk, col.name))
        return col
    if isinstance(kind, exp.GeneratedAsIdentityColumnConstraint):
        if col.type.oid not in T.INTEGER_TYPES:
            raise errors.InvalidParameterValue(
                "identity column type must be smallint, integer, or bigint")
        start = kind.args.get("start")
        inc = kind.args.get("increment")
        serials.append((pos, col.type, {"start": int(start.this) if start is not None else 1,
                                        "increment": int(inc.this) if inc is not None else 1}))
        return replace(col, identity="d" if kind.args.get("this") is False else "a",
                       not_null=True)
    if isinstance(kind, exp.ComputedColumnConstraint):
        # PostgreSQL 15 has STORED generated columns only (sqlglot drops the word)
        if col.default is not None or col.identity:
            raise errors.SyntaxError(f'both default and generation expression specified for '
                                     f'column "{col.name}"')
        return replace(col, default=_sql(kind.this), generated="s")
    if isinstance(kind, (exp.CollateColumnConstraint,)):
        return col
    raise errors.FeatureNotSupported(f"column constraint {_sql(cc)} is not supported")


def _create_table_as(session: Session, txn: Transaction, cat: Catalog, schema_oid: int,
                     name: str, target: exp.Expr, query: exp.Expr) -> Result:
    binder = _binder(session, cat)
    plan = binder.bind_query_node(query, Scope())
    names = [c.name for c in plan.columns]
    if isinstance(target, exp.Schema) and target.expressions:
        for i, ident in enumerate(target.expressions):
            names[i] = ident.name
    cols = tuple(ColumnDef(n, c.type if c.type.oid != T.UNKNOWN.oid else T.TEXT, i + 1)
                 for i, (n, c) in enumerate(zip(names, plan.columns, strict=True)))
    check_pseudo_types(cols)
    tdef = TableDef(cat.allocate_oid(), name, schema_oid, cols, (), "heap", (), len(cols) + 1)
    cat.add_relation(tdef)
    txn.create_table_data(tdef)
    from aiondb.sql.executor import build
    from aiondb.sql.planner import optimize
    op = build(optimize(plan, cat))
    ctx = session.make_context(txn, [], cat)
    rows = list(op.rows(ctx))
    for r in rows:
        txn.insert(tdef, tuple(r))
    from aiondb.sql.results import Result
    return Result(f"SELECT {len(rows)}")
