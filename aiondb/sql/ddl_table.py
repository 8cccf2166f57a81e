"""CREATE TABLE, its column and table constraints, and the helpers the other
DDL modules share (name lookup, default/CHECK binding, row checks, rewrites)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from aiondb import errors
from aiondb import types as T
from aiondb.sql import ddl_parse as D
from aiondb.sql import deferred, temp_tables
from aiondb.sql.binder import resolve_type
from aiondb.sql.dialect import AionDB
from aiondb.sql.expr_compile import compile_expr
from aiondb.sql.scope import Scope
from aiondb.sql.view_names import bind_relation_constants
from aiondb.storage.catalog import (
    Catalog,
    ColumnDef,
    ConstraintDef,
    IndexDef,
    SequenceDef,
    TableDef,
)
from aiondb.storage.table import (
    NOT_INDEXED,
    TableData,
    index_key_fn,
    index_labels,
    key_has_null,
)

if TYPE_CHECKING:
    from aiondb.sql.results import Result
    from aiondb.sql.session import Session
    from aiondb.storage.txn import Transaction

_SERIALS = {exp.DType.SERIAL: T.INT4, exp.DType.BIGSERIAL: T.INT8,
            exp.DType.SMALLSERIAL: T.INT2}
_FK_ACTIONS = {"NO ACTION": "a", "RESTRICT": "r", "CASCADE": "c", "SET NULL": "n",
               "SET DEFAULT": "d"}
ENGINES = ("heap",)


def _result(tag: str) -> Result:
    from aiondb.sql.results import Result
    return Result(tag)


def _sql(node: exp.Expr) -> str:
    # PostgreSQL prints function names in lower case in \d and pg_get_expr
    return node.sql(dialect=AionDB, normalize_functions="lower")


# --- helpers -------------------------------------------------------------------------------------------

def _unique_name(cat: Catalog, schema_oid: int, base: str, used: set[str] | None = None) -> str:
    """base, or base1, base2 ...: free among the schema's relations and the
    constraints of its tables (PostgreSQL's ChooseConstraintName)."""
    base = base[:63]
    used = used or set()
    rels = cat.relations
    names = {c.name for c in cat.constraints.values()
             if getattr(rels.get(c.table_oid), "schema_oid", None) == schema_oid} | used
    if (schema_oid, base) not in cat.names and base not in names:
        return base
    n = 1
    while True:
        cand = f"{base[:60]}{n}"
        if (schema_oid, cand) not in cat.names and cand not in names:
            return cand
        n += 1


def _lookup_table(session: Session, cat: Catalog, name: D.QualName,
                  missing_ok: bool = False) -> TableDef | None:
    schema, rel_name = name
    try:
        rel, sysv = session.resolve_relation(cat, schema, rel_name)
    except errors.UndefinedTable:
        if missing_ok:
            return None
        raise
    if sysv is not None:
        raise errors.InsufficientPrivilege(f'permission denied: "{rel_name}" is a system catalog')
    if not isinstance(rel, TableDef):
        raise errors.WrongObjectType(f'"{rel_name}" is not a table')
    return rel


def _binder(session: Session, cat: Catalog) -> Any:
    from aiondb.sql.bind_dml import StatementBinder
    return StatementBinder(cat, session, [])


def _table_scope(binder: Any, tdef: TableDef) -> Scope:
    scope = Scope()
    scope.add(binder.table_scope(tdef, tdef.name))
    return scope


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


def _validate_check(session: Session, cat: Catalog, tdef: TableDef, node: exp.Expr) -> str:
    binder = _binder(session, cat)
    e = binder.expr(node, _table_scope(binder, tdef))
    binder.to_bool(e, "CHECK")
    return _sql(node)


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


def check_pseudo_types(cols: tuple[ColumnDef, ...]) -> None:
    """Stored relations cannot have columns of the record pseudo-type."""
    for c in cols:
        if c.type.oid == T.RECORD.oid or (c.type.elem is not None and
                                          c.type.elem.oid == T.RECORD.oid):
            label = "record[]" if c.type.elem is not None else "record"
            raise errors.InvalidTableDefinition(f'column "{c.name}" has pseudo-type {label}')


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


# --- constraints -----------------------------------------------------------------------------------

def _col_names(node: exp.Expr) -> list[str]:
    target = node.this if isinstance(node, exp.UniqueColumnConstraint) else None
    items = target.expressions if isinstance(target, exp.Schema) else node.expressions
    return [i.name for i in items]


def _attnums(tdef: TableDef, names: list[str]) -> tuple[int, ...]:
    out = []
    for n in names:
        c = tdef.column(n)
        if c is None:
            raise errors.UndefinedColumn(f'column "{n}" named in key does not exist')
        out.append(c.attnum)
    return tuple(out)


def _add_table_constraint(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
                          el: exp.Expr, cname: str | None, col_name: str | None,
                          used: set[str], creating: bool, not_valid: bool = False) -> TableDef:
    if isinstance(el, exp.Constraint):
        cname = el.name
        inner = el.expressions[0] if el.expressions else None
        if inner is None:
            raise errors.SyntaxError("empty constraint")
        el = inner
    if not_valid and not isinstance(el, (exp.CheckColumnConstraint, exp.ForeignKey)):
        kind = "PRIMARY KEY" if isinstance(el, exp.PrimaryKey) else "UNIQUE"
        raise errors.FeatureNotSupported(f"{kind} constraints cannot be marked NOT VALID")
    # NOT VALID on a table being created: PostgreSQL marks it valid (no rows)
    not_valid = not_valid and not creating
    if isinstance(el, (exp.PrimaryKey, exp.UniqueColumnConstraint)):
        deferred.reject_deferrable(el)
    if isinstance(el, exp.PrimaryKey):
        names = _col_names(el)
        if tdef.pk:
            raise errors.InvalidTableDefinition(
                f'multiple primary keys for table "{tdef.name}" are not allowed')
        attnums = _attnums(tdef, names)
        name = cname or _unique_name(cat, tdef.schema_oid, f"{tdef.name}_pkey", used)
        if (tdef.schema_oid, name) in cat.names:
            raise errors.DuplicateTable(f'relation "{name}" already exists')
        used.add(name)
        cols = tuple(replace(c, not_null=True) if c.attnum in attnums else c
                     for c in tdef.columns)
        new = replace(tdef, columns=cols, pk=attnums)
        cat.replace_relation(new)
        idx = IndexDef(cat.allocate_oid(), name, tdef.schema_oid, tdef.oid, attnums, True, True)
        cat.add_relation(idx)
        cat.add_constraint(ConstraintDef(cat.allocate_oid(), name, "p", tdef.oid, attnums,
                                         index_oid=idx.oid))
        if not creating:
            _rewrite(txn, tdef, new, lambda r: r, name)  # rows are re-keyed by the new key
        return new
    if isinstance(el, exp.UniqueColumnConstraint):
        names = _col_names(el)
        attnums = _attnums(tdef, names)
        name = cname or _unique_name(cat, tdef.schema_oid,
                                     f"{tdef.name}_{'_'.join(names)}_key", used)
        if (tdef.schema_oid, name) in cat.names:
            raise errors.DuplicateTable(f'relation "{name}" already exists')
        used.add(name)
        idx = IndexDef(cat.allocate_oid(), name, tdef.schema_oid, tdef.oid, attnums, True)
        if not creating:
            _check_unique(txn, tdef, idx)
        cat.add_relation(idx)
        cat.add_constraint(ConstraintDef(cat.allocate_oid(), name, "u", tdef.oid, attnums,
                                         index_oid=idx.oid))
        return tdef
    if isinstance(el, exp.CheckColumnConstraint):
        if col_name is None:
            # PostgreSQL names a table CHECK after its column when it uses exactly one
            refs = {c.name for c in el.this.find_all(exp.Column) if tdef.column(c.name)}
            col_name = refs.pop() if len(refs) == 1 else None
        base = f"{tdef.name}_{col_name}_check" if col_name else f"{tdef.name}_check"
        name = cname or _unique_name(cat, tdef.schema_oid, base, used)
        used.add(name)
        text = _validate_check(session, cat, tdef, el.this)
        con = ConstraintDef(cat.allocate_oid(), name, "c", tdef.oid,
                            expr=text, validated=not not_valid)
        if not creating and not not_valid:
            _check_rows(session, txn, cat, tdef, name, el.this)
        cat.add_constraint(con)
        return tdef
    if isinstance(el, exp.ForeignKey):
        return _add_fk(session, txn, cat, tdef, el, cname, used, creating, not_valid)
    raise errors.FeatureNotSupported(f"constraint {_sql(el)} is not supported")


def _add_fk(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
            el: exp.ForeignKey, cname: str | None, used: set[str], creating: bool,
            not_valid: bool = False) -> TableDef:
    names = [i.name for i in el.expressions]
    attnums = _attnums(tdef, names)
    ref = el.args.get("reference")
    ref_target = ref.this
    ref_table = ref_target.this if isinstance(ref_target, exp.Schema) else ref_target
    ref_cols = [i.name for i in ref_target.expressions] if isinstance(ref_target, exp.Schema) \
        else []
    if ref_table.name == tdef.name and (ref_table.db or None) in (None,) and \
            cat.relations.get(tdef.oid) is not None:
        parent = cat.table(tdef.oid)
    else:
        parent = _lookup_table(session, cat, (ref_table.db or None, ref_table.name))
        assert parent is not None
    temp_oid = temp_tables.own_schema_oid(session, cat)
    if (tdef.schema_oid == temp_oid) != (parent.schema_oid == temp_oid):
        raise errors.InvalidTableDefinition(
            "constraints on temporary tables may reference only temporary tables"
            if tdef.schema_oid == temp_oid else
            "constraints on permanent tables may reference only permanent tables")
    if ref_cols:
        ref_attnums = _attnums(parent, ref_cols)
    else:
        if not parent.pk:
            raise errors.InvalidForeignKey(
                f'there is no primary key for referenced table "{parent.name}"')
        ref_attnums = parent.pk
    if len(ref_attnums) != len(attnums):
        raise errors.InvalidForeignKey(
            "number of referencing and referenced columns for foreign key disagree")
    ok = tuple(sorted(ref_attnums)) == tuple(sorted(parent.pk)) or any(
        i.unique and tuple(i.attnums) == tuple(ref_attnums) and not i.predicate
        for i in cat.indexes_of(parent.oid))
    if not ok:
        raise errors.InvalidForeignKey(
            f'there is no unique constraint matching given keys for referenced table '
            f'"{parent.name}"')
    for a, b in zip(attnums, ref_attnums, strict=True):
        ct = tdef.columns[tdef.position(a)].type
        pt = parent.columns[parent.position(b)].type
        from aiondb.sql.casts import coercion
        if ct.oid != pt.oid and coercion(ct, pt) != "i" and coercion(pt, ct) != "i":
            raise errors.DatatypeMismatch(
                'foreign key constraint cannot be implemented',
                detail=f'Key columns "{tdef.columns[tdef.position(a)].name}" and '
                       f'"{parent.columns[parent.position(b)].name}" are of incompatible types: '
                       f"{ct.sql_name()} and {pt.sql_name()}.")
    on_delete = on_update = "a"
    for opt in ref.args.get("options") or []:
        text = str(opt).upper()
        for key, code in _FK_ACTIONS.items():
            if text.endswith(key):
                if text.startswith("ON DELETE"):
                    on_delete = code
                elif text.startswith("ON UPDATE"):
                    on_update = code
                break
    name = cname or _unique_name(cat, tdef.schema_oid, f"{tdef.name}_{'_'.join(names)}_fkey",
                                 used)
    used.add(name)
    deferrable, initially_deferred = deferred.constraint_timing(ref.args.get("options"))
    con = ConstraintDef(cat.allocate_oid(), name, "f", tdef.oid, attnums,
                        ref_table_oid=parent.oid, ref_attnums=tuple(ref_attnums),
                        on_delete=on_delete, on_update=on_update, deferrable=deferrable,
                        initially_deferred=initially_deferred, validated=not not_valid)
    if not creating and not not_valid:
        _check_fk_rows(session, txn, cat, tdef, parent, con)
    cat.add_constraint(con)
    return tdef


def _visible_rows(txn: Transaction, oid: int) -> list[tuple[Any, tuple]]:
    return list(txn.scan_items(oid))


def _check_unique(txn: Transaction, tdef: TableDef, idx: IndexDef) -> None:
    kf = index_key_fn(tdef, idx)
    seen: dict[Any, Any] = {}
    for _k, r in _visible_rows(txn, tdef.oid):
        key = kf(r)
        if key is NOT_INDEXED or key_has_null(key):
            continue
        if key in seen:
            cols = ", ".join(index_labels(tdef, idx))
            vals = key if isinstance(key, tuple) else (key,)
            raise errors.UniqueViolation(
                f'could not create unique index "{idx.name}"',
                detail=f"Key ({cols})=({', '.join(str(v) for v in vals)}) is duplicated.")
        seen[key] = True


def validate_existing_rows(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
                           con: ConstraintDef) -> None:
    """The row checks ADD CONSTRAINT ... NOT VALID skipped (VALIDATE CONSTRAINT)."""
    if con.kind == "c":
        from aiondb.sql.bind_dml import parse_expression
        _check_rows(session, txn, cat, tdef, con.name, parse_expression(con.expr or "true"))
    else:
        _check_fk_rows(session, txn, cat, tdef, cat.table(con.ref_table_oid), con)


def _check_rows(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef, name: str,
                node: exp.Expr) -> None:
    binder = _binder(session, cat)
    fn = compile_expr(binder.to_bool(binder.expr(node, _table_scope(binder, tdef)), "CHECK"))
    ctx = session.make_context(txn, [], cat)
    for _k, r in _visible_rows(txn, tdef.oid):
        if fn(r, ctx) is False:
            schema = cat.schema_by_oid(tdef.schema_oid)
            raise errors.CheckViolation(
                f'check constraint "{name}" of relation "{tdef.name}" is violated by some row',
                schema=schema.name if schema else None, table=tdef.name, constraint=name)


def _check_fk_rows(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
                   parent: TableDef, con: ConstraintDef) -> None:
    from aiondb.sql.dml import find_rows
    ctx = session.make_context(txn, [], cat)
    cpos = tdef.positions(con.attnums)
    ppos = parent.positions(con.ref_attnums)
    for _k, r in _visible_rows(txn, tdef.oid):
        vals = tuple(r[p] for p in cpos)
        if any(v is None for v in vals):
            continue
        if not find_rows(ctx, parent, ppos, vals):
            cols = ", ".join(tdef.columns[p].name for p in cpos)
            raise errors.ForeignKeyViolation(
                f'insert or update on table "{tdef.name}" violates foreign key constraint '
                f'"{con.name}"',
                detail=f"Key ({cols})=({', '.join(str(v) for v in vals)}) is not present in "
                       f'table "{parent.name}".')


def _rewrite(txn: Transaction, old: TableDef, new: TableDef, transform: Any,
             pk_name: str | None = None) -> None:
    txn.lock_table_exclusive(old.oid)
    cat = txn.catalog
    rows = _visible_rows(txn, old.oid)
    td = TableData(new, [i for i in cat.indexes_of(new.oid)])
    key_fn = td.key_fn
    for k, r in rows:
        nr = transform(r)
        if key_fn is None:
            # rows keep their row id, or get one when the primary key goes away
            nk = k if not old.pk else txn.db.next_rowid()
        else:
            nk = key_fn(nr)
            if nk is None or (isinstance(nk, tuple) and None in nk):
                cols = [new.columns[p].name for p in new.pk_positions]
                raise errors.NotNullViolation(
                    f'column "{cols[0]}" of relation "{new.name}" contains null values')
            if nk in td.rows:
                cols = ", ".join(new.columns[p].name for p in new.pk_positions)
                vals = nk if isinstance(nk, tuple) else (nk,)
                raise errors.UniqueViolation(
                    f'could not create unique index "{pk_name or new.name + "_pkey"}"',
                    detail=f"Key ({cols})=({', '.join(str(v) for v in vals)}) is duplicated.")
        td.rows[nk] = nr
    td.load(())
    txn.replace_table_data(old.oid, td, "rewritten")
