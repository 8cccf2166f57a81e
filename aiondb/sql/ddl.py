"""DDL execution. Runs inside a transaction (DDL is transactional): changes
go to the transaction's private catalog copy; tables whose rows must change
are rebuilt privately and swapped in at COMMIT."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from aiondb import errors
from aiondb import types as T
from aiondb.sql import ddl_parse as D
from aiondb.sql.binder import resolve_type, type_from_name
from aiondb.sql.dialect import AionDB
from aiondb.sql.expr import Col, compile_expr
from aiondb.sql.scope import Scope
from aiondb.storage.catalog import (
    Catalog,
    ColumnDef,
    ConstraintDef,
    IndexDef,
    SequenceDef,
    TableDef,
    ViewDef,
)
from aiondb.storage.table import TableData, key_has_null, make_key_fn

if TYPE_CHECKING:
    from aiondb.sql.session import Result, Session
    from aiondb.storage.txn import Transaction

_SERIALS = {exp.DType.SERIAL: T.INT4, exp.DType.BIGSERIAL: T.INT8,
            exp.DType.SMALLSERIAL: T.INT2}
_FK_ACTIONS = {"NO ACTION": "a", "RESTRICT": "r", "CASCADE": "c", "SET NULL": "n",
               "SET DEFAULT": "d"}
ENGINES = ("heap",)


def _result(tag: str) -> Result:
    from aiondb.sql.session import Result
    return Result(tag)


def _sql(node: exp.Expr) -> str:
    # PostgreSQL prints function names in lower case in \d and pg_get_expr
    return node.sql(dialect=AionDB, normalize_functions="lower")


def execute_ddl(session: Session, txn: Transaction, node: Any) -> Result:
    handler = _HANDLERS.get(type(node))
    if handler is None:
        if isinstance(node, exp.Create):
            kind = (node.args.get("kind") or "").upper()
            handler = {"TABLE": create_table, "INDEX": create_index, "VIEW": create_view}.get(
                kind)
            if handler is None:
                raise errors.FeatureNotSupported(f"CREATE {kind} is not supported")
        elif isinstance(node, exp.Drop):
            raise errors.FeatureNotSupported(f"DROP {node.args.get('kind')} is not supported")
        else:
            raise errors.FeatureNotSupported(
                f"statement {type(node).__name__} is not supported: {_sql(node)[:60]}")
    return handler(session, txn, node)


# --- helpers -------------------------------------------------------------------------------------------

def _unique_name(cat: Catalog, schema_oid: int, base: str, used: set[str] | None = None) -> str:
    base = base[:63]
    used = used or set()
    names = {c.name for c in cat.constraints.values()} | used
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
    return _sql(node)


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
                  start: int = 1, increment: int = 1) -> SequenceDef:
    name = _unique_name(cat, schema_oid, f"{table}_{col}_seq")
    lo, hi, _ = T.INT_RANGES[t.oid]
    seq = SequenceDef(cat.allocate_oid(), name, schema_oid, t, start, increment,
                      1 if increment > 0 else lo, hi if increment > 0 else -1)
    cat.add_relation(seq)
    return seq


def _qualified(cat: Catalog, rel: Any) -> str:
    s = cat.schema_by_oid(rel.schema_oid)
    if s is None or s.name == "public":
        return rel.name
    return f"{s.name}.{rel.name}"


# --- CREATE TABLE ----------------------------------------------------------------------------------

def create_table(session: Session, txn: Transaction, node: exp.Create) -> Result:
    target = node.this
    table = target.this if isinstance(target, exp.Schema) else target
    props = node.args.get("properties")
    engine = "heap"
    for p in (props.expressions if props is not None else []):
        if isinstance(p, exp.TemporaryProperty):
            raise errors.FeatureNotSupported("temporary tables are not supported")
        if isinstance(p, exp.FileFormatProperty):
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
    cat = txn.begin_ddl()
    schema_oid = session.creation_schema(cat, table.db or None)
    name = table.name
    if (schema_oid, name) in cat.names:
        if node.args.get("exists"):
            session.notice(f'relation "{name}" already exists, skipping', code="42P07")
            return _result("CREATE TABLE")
        raise errors.DuplicateTable(f'relation "{name}" already exists')
    query = node.args.get("expression")
    if query is not None:
        return _create_table_as(session, txn, cat, schema_oid, name, target, query)
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
        cols[pos] = replace(col, default=f"nextval('{_qualified(cat, seq)}'::regclass)",
                            sequence_oid=seq.oid, not_null=True)
    tdef = replace(tdef, columns=tuple(cols))
    cat.replace_relation(tdef)
    _validate_generated(session, cat, tdef)
    used: set[str] = set()
    for cname, el, col_name in pending_constraints:
        tdef = _add_table_constraint(session, txn, cat, tdef, el, cname, col_name, used,
                                     creating=True)
    txn.create_table_data(tdef)
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
    from aiondb.sql.session import Result
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
                          used: set[str], creating: bool) -> TableDef:
    if isinstance(el, exp.Constraint):
        cname = el.name
        inner = el.expressions[0] if el.expressions else None
        if inner is None:
            raise errors.SyntaxError("empty constraint")
        el = inner
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
                            expr=text)
        if not creating:
            _check_rows(session, txn, cat, tdef, name, el.this)
        cat.add_constraint(con)
        return tdef
    if isinstance(el, exp.ForeignKey):
        return _add_fk(session, txn, cat, tdef, el, cname, used, creating)
    raise errors.FeatureNotSupported(f"constraint {_sql(el)} is not supported")


def _add_fk(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
            el: exp.ForeignKey, cname: str | None, used: set[str], creating: bool) -> TableDef:
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
        i.unique and tuple(i.attnums) == tuple(ref_attnums) for i in cat.indexes_of(parent.oid))
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
    con = ConstraintDef(cat.allocate_oid(), name, "f", tdef.oid, attnums,
                        ref_table_oid=parent.oid, ref_attnums=tuple(ref_attnums),
                        on_delete=on_delete, on_update=on_update)
    if not creating:
        _check_fk_rows(session, txn, cat, tdef, parent, con)
    cat.add_constraint(con)
    return tdef


def _visible_rows(txn: Transaction, oid: int) -> list[tuple[Any, tuple]]:
    return list(txn.scan_items(oid))


def _check_unique(txn: Transaction, tdef: TableDef, idx: IndexDef) -> None:
    kf = make_key_fn(tdef.positions(idx.attnums))
    seen: dict[Any, Any] = {}
    for _k, r in _visible_rows(txn, tdef.oid):
        key = kf(r)
        if key_has_null(key):
            continue
        if key in seen:
            cols = ", ".join(tdef.columns[tdef.position(a)].name for a in idx.attnums)
            vals = key if isinstance(key, tuple) else (key,)
            raise errors.UniqueViolation(
                f'could not create unique index "{idx.name}"',
                detail=f"Key ({cols})=({', '.join(str(v) for v in vals)}) is duplicated.")
        seen[key] = True


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


# --- CREATE INDEX / VIEW / SCHEMA / SEQUENCE ---------------------------------------------------------

def create_index(session: Session, txn: Transaction, node: exp.Create) -> Result:
    index = node.this
    params = index.args.get("params")
    table_node = index.args.get("table")
    cat = txn.begin_ddl()
    tdef = _lookup_table(session, cat, (table_node.db or None, table_node.name))
    assert tdef is not None
    using = params.args.get("using") if params is not None else None
    method = (using.name if isinstance(using, exp.Expr) else str(using or "btree")).lower()
    if method not in ("btree", "hash"):
        raise errors.FeatureNotSupported(f'access method "{method}" is not supported yet')
    if params is not None and params.args.get("where") is not None:
        raise errors.FeatureNotSupported("partial indexes are not supported")
    names = []
    desc = []
    for o in params.args.get("columns") or []:
        target = o.this if isinstance(o, exp.Ordered) else o
        if isinstance(target, exp.Opclass):
            target = target.this
        if not isinstance(target, exp.Column):
            raise errors.FeatureNotSupported("index expressions are not supported (index "
                                             "plain columns)")
        names.append(target.name)
        desc.append(bool(o.args.get("desc")) if isinstance(o, exp.Ordered) else False)
    attnums = _attnums(tdef, names)
    unique = bool(node.args.get("unique"))
    name = index.name if index.this is not None else None
    if name is not None and (tdef.schema_oid, name) in cat.names:
        if node.args.get("exists"):
            session.notice(f'relation "{name}" already exists, skipping', code="42P07")
            return _result("CREATE INDEX")
        raise errors.DuplicateTable(f'relation "{name}" already exists')
    if name is None:
        name = _unique_name(cat, tdef.schema_oid, f"{tdef.name}_{'_'.join(names)}_idx")
    txn.lock_table_exclusive(tdef.oid)
    idx = IndexDef(cat.allocate_oid(), name, tdef.schema_oid, tdef.oid, attnums, unique,
                   method="btree", descending=tuple(desc))
    if unique:
        _check_unique(txn, tdef, idx)
    cat.add_relation(idx)
    return _result("CREATE INDEX")


def create_view(session: Session, txn: Transaction, node: exp.Create) -> Result:
    target = node.this
    table = target.this if isinstance(target, exp.Schema) else target
    cat = txn.begin_ddl()
    schema_oid = session.creation_schema(cat, table.db or None)
    query = node.args.get("expression")
    binder = _binder(session, cat)
    plan = binder.bind_query_node(query, Scope())
    if binder.params:
        raise errors.UndefinedParameter("there is no parameter $1")
    names = [c.name for c in plan.columns]
    if isinstance(target, exp.Schema) and target.expressions:
        given = [i.name for i in target.expressions]
        if len(given) > len(names):
            raise errors.SyntaxError("CREATE VIEW specifies more column names than columns")
        names[:len(given)] = given
    cols = tuple(ColumnDef(n, c.type if c.type.oid != T.UNKNOWN.oid else T.TEXT, i + 1)
                 for i, (n, c) in enumerate(zip(names, plan.columns, strict=True)))
    from aiondb.sql.plan import walk_plan
    depends = tuple(sorted({p.table.oid for p in walk_plan(plan) if hasattr(p, "table") and
                            isinstance(p.table, TableDef)}))
    existing = cat.lookup(schema_oid, table.name)
    if existing is not None:
        if not node.args.get("replace") or not isinstance(existing, ViewDef):
            raise errors.DuplicateTable(f'relation "{table.name}" already exists')
        cat.replace_relation(ViewDef(existing.oid, table.name, schema_oid, _sql(query), cols,
                                     depends))
        return _result("CREATE VIEW")
    cat.add_relation(ViewDef(cat.allocate_oid(), table.name, schema_oid, _sql(query), cols,
                             depends))
    return _result("CREATE VIEW")


def create_schema(session: Session, txn: Transaction, node: D.CreateSchema) -> Result:
    cat = txn.begin_ddl()
    if node.name in cat.schemas:
        if node.if_not_exists:
            session.notice(f'schema "{node.name}" already exists, skipping', code="42P06")
            return _result("CREATE SCHEMA")
        raise errors.DuplicateSchema(f'schema "{node.name}" already exists')
    if node.name.startswith("pg_"):
        raise errors.ReservedName(f'unacceptable schema name "{node.name}"',
                                  detail='The prefix "pg_" is reserved for system schemas.')
    cat.add_schema(node.name)
    return _result("CREATE SCHEMA")


def _seq_bounds(t: T.SqlType, inc: int, opts: dict) -> tuple[int, int]:
    lo, hi, _ = T.INT_RANGES[t.oid]
    minv = opts.get("minvalue")
    maxv = opts.get("maxvalue")
    if minv is None:
        minv = 1 if inc > 0 else lo
    if maxv is None:
        maxv = hi if inc > 0 else -1
    return minv, maxv


def create_sequence(session: Session, txn: Transaction, node: D.CreateSequence) -> Result:
    cat = txn.begin_ddl()
    schema_oid = session.creation_schema(cat, node.name[0])
    name = node.name[1]
    if (schema_oid, name) in cat.names:
        if node.if_not_exists:
            session.notice(f'relation "{name}" already exists, skipping', code="42P07")
            return _result("CREATE SEQUENCE")
        raise errors.DuplicateTable(f'relation "{name}" already exists')
    opts = node.options
    t = type_from_name(opts["type"]) if "type" in opts else T.INT8
    if t.oid not in T.INTEGER_TYPES:
        raise errors.InvalidParameterValue("sequence type must be smallint, integer, or bigint")
    inc = opts.get("increment", 1)
    if inc == 0:
        raise errors.InvalidParameterValue("INCREMENT must not be zero")
    minv, maxv = _seq_bounds(t, inc, opts)
    start = opts.get("start", minv if inc > 0 else maxv)
    if not minv <= start <= maxv:
        raise errors.InvalidParameterValue(
            f"START value ({start}) cannot be {'less than MINVALUE' if start < minv else 'greater than MAXVALUE'} "
            f"({minv if start < minv else maxv})")
    seq = SequenceDef(cat.allocate_oid(), name, schema_oid, t, start, inc, minv, maxv,
                      bool(opts.get("cycle")), opts.get("cache", 1))
    owned = opts.get("owned_by")
    if owned:
        tdef = _lookup_table(session, cat, (None, owned[-2]) if len(owned) >= 2 else
                             (None, owned[0]))
        assert tdef is not None
        col = tdef.column(owned[-1])
        if col is None:
            raise errors.UndefinedColumn(f'column "{owned[-1]}" does not exist')
        seq = replace(seq, owned_by=(tdef.oid, col.attnum))
    cat.add_relation(seq)
    txn.db.seq_values[seq.oid] = [seq.start, False]
    txn.sequences.add(seq.oid)
    return _result("CREATE SEQUENCE")


def alter_sequence(session: Session, txn: Transaction, node: D.AlterSequence) -> Result:
    cat = txn.begin_ddl()
    try:
        rel, _ = session.resolve_relation(cat, node.name[0], node.name[1])
    except errors.UndefinedTable:
        if node.if_exists:
            session.notice(f'relation "{node.name[1]}" does not exist, skipping')
            return _result("ALTER SEQUENCE")
        raise
    if not isinstance(rel, SequenceDef):
        raise errors.WrongObjectType(f'"{node.name[1]}" is not a sequence')
    opts = node.options
    seq = rel
    changes: dict[str, Any] = {}
    if "increment" in opts:
        changes["increment"] = opts["increment"]
    if "minvalue" in opts:
        changes["min_value"] = opts["minvalue"] if opts["minvalue"] is not None else 1
    if "maxvalue" in opts:
        changes["max_value"] = opts["maxvalue"] if opts["maxvalue"] is not None else \
            T.INT_RANGES[seq.type.oid][1]
    if "start" in opts:
        changes["start"] = opts["start"]
    if "cycle" in opts:
        changes["cycle"] = opts["cycle"]
    if "cache" in opts:
        changes["cache"] = opts["cache"]
    seq = replace(seq, **changes)
    cat.replace_relation(seq)
    if "restart" in opts:
        value = seq.start if opts["restart"] is True else opts["restart"]
        txn.db.setval(txn, seq, value, False)
    return _result("ALTER SEQUENCE")


# --- DROP ------------------------------------------------------------------------------------------------

def drop(session: Session, txn: Transaction, node: D.DropStmt) -> Result:
    cat = txn.begin_ddl()
    tag = f"DROP {node.kind.upper()}"
    if node.kind == "schema":
        for _, name in node.names:
            sdef = cat.schema(name)
            if sdef is None:
                if node.if_exists:
                    session.notice(f'schema "{name}" does not exist, skipping')
                    continue
                raise errors.InvalidSchemaName(f'schema "{name}" does not exist')
            members = [r for r in cat.relations.values() if r.schema_oid == sdef.oid]
            if members and not node.cascade:
                raise errors.DependentObjectsStillExist(
                    f"cannot drop schema {name} because other objects depend on it",
                    detail="\n".join(f"{_kind_name(r)} {name}.{r.name} depends on schema {name}"
                                     for r in members[:10]),
                    hint="Use DROP ... CASCADE to drop the dependent objects too.")
            for r in members:
                if r.oid in cat.relations:
                    _drop_relation(session, txn, cat, r, True)
            cat.drop_schema(name)
        return _result(tag)
    for schema, name in node.names:
        try:
            rel, sysv = session.resolve_relation(cat, schema, name)
        except (errors.UndefinedTable, errors.InvalidSchemaName):
            if node.if_exists:
                what = {"table": "table", "index": "index", "view": "view",
                        "sequence": "sequence"}[node.kind]
                session.notice(f'{what} "{name}" does not exist, skipping')
                continue
            if node.kind == "index":
                raise errors.UndefinedObject(f'index "{name}" does not exist') from None
            raise
        if sysv is not None:
            raise errors.InsufficientPrivilege(f'permission denied: "{name}" is a system '
                                               "catalog")
        expected = {"table": TableDef, "index": IndexDef, "view": ViewDef,
                    "sequence": SequenceDef}[node.kind]
        if not isinstance(rel, expected):
            raise errors.WrongObjectType(f'"{name}" is not a{"n" if node.kind == "index" else ""}'
                                         f" {node.kind}",
                                         hint=f"Use DROP {_kind_name(rel).upper()} to remove "
                                              f"a{'n' if isinstance(rel, IndexDef) else ''} "
                                              f"{_kind_name(rel)}.")
        _drop_relation(session, txn, cat, rel, node.cascade)
    return _result(tag)


def _kind_name(rel: Any) -> str:
    return {"r": "table", "v": "view", "i": "index", "S": "sequence"}[rel.kind]


def _drop_relation(session: Session, txn: Transaction, cat: Catalog, rel: Any,
                   cascade: bool) -> None:
    if isinstance(rel, TableDef):
        txn.lock_table_exclusive(rel.oid)
        deps = []
        for con in cat.referencing(rel.oid):
            if con.table_oid != rel.oid:
                deps.append(("constraint", con, f"constraint {con.name} on table "
                             f"{cat.relations[con.table_oid].name} depends on table {rel.name}"))
        for v in list(cat.relations.values()):
            if isinstance(v, ViewDef) and rel.oid in v.depends:
                deps.append(("view", v, f"view {v.name} depends on table {rel.name}"))
        if deps and not cascade:
            raise errors.DependentObjectsStillExist(
                f"cannot drop table {rel.name} because other objects depend on it",
                detail="\n".join(d[2] for d in deps),
                hint="Use DROP ... CASCADE to drop the dependent objects too.")
        for kind, obj, text in deps:
            session.notice(f"drop cascades to {text.split(' depends')[0]}")
            if kind == "constraint":
                cat.drop_constraint(obj.oid)
            elif obj.oid in cat.relations:
                _drop_relation(session, txn, cat, obj, True)
        for idx in cat.indexes_of(rel.oid):
            cat.drop_relation(idx.oid)
        for seq in cat.sequences():
            if seq.owned_by[0] == rel.oid:
                cat.drop_relation(seq.oid)
        cat.drop_relation(rel.oid)
        txn.pending.pop(rel.oid, None)
        txn.writes.pop(rel.oid, None)
        return
    if isinstance(rel, IndexDef):
        for con in cat.constraints_of(rel.table_oid):
            if con.index_oid == rel.oid:
                raise errors.DependentObjectsStillExist(
                    f"cannot drop index {rel.name} because constraint {con.name} on table "
                    f"{cat.relations[rel.table_oid].name} requires it",
                    hint=f"You can drop constraint {con.name} on table "
                         f"{cat.relations[rel.table_oid].name} instead.")
        txn.lock_table_exclusive(rel.table_oid)
        cat.drop_relation(rel.oid)
        return
    if isinstance(rel, ViewDef):
        for v in list(cat.relations.values()):
            if isinstance(v, ViewDef) and rel.oid in v.depends:
                if not cascade:
                    raise errors.DependentObjectsStillExist(
                        f"cannot drop view {rel.name} because other objects depend on it",
                        detail=f"view {v.name} depends on view {rel.name}",
                        hint="Use DROP ... CASCADE to drop the dependent objects too.")
                _drop_relation(session, txn, cat, v, True)
        cat.drop_relation(rel.oid)
        return
    if isinstance(rel, SequenceDef):
        users = [t for t in cat.tables() for c in t.columns if c.sequence_oid == rel.oid]
        if users and not cascade:
            raise errors.DependentObjectsStillExist(
                f"cannot drop sequence {rel.name} because other objects depend on it",
                detail=f"default value for column of table {users[0].name} depends on sequence "
                       f"{rel.name}",
                hint="Use DROP ... CASCADE to drop the dependent objects too.")
        for t in users:
            cols = tuple(replace(c, default=None, sequence_oid=0) if c.sequence_oid == rel.oid
                         else c for c in t.columns)
            cat.replace_relation(replace(t, columns=cols))
        cat.drop_relation(rel.oid)


# --- TRUNCATE ---------------------------------------------------------------------------------------

def truncate(session: Session, txn: Transaction, node: D.TruncateStmt) -> Result:
    cat = txn.begin_ddl()
    targets: list[TableDef] = []
    for qn in node.names:
        t = _lookup_table(session, cat, qn)
        assert t is not None
        targets.append(t)
    oids = {t.oid for t in targets}
    for t in list(targets):
        for con in cat.referencing(t.oid):
            if con.table_oid in oids:
                continue
            if not node.cascade:
                raise errors.FeatureNotSupported(
                    "cannot truncate a table referenced in a foreign key constraint",
                    detail=f'Table "{cat.relations[con.table_oid].name}" references '
                           f'"{t.name}".',
                    hint=f'Truncate table "{cat.relations[con.table_oid].name}" at the same '
                         "time, or use TRUNCATE ... CASCADE.")
            child = cat.table(con.table_oid)
            session.notice(f'truncate cascades to table "{child.name}"')
            targets.append(child)
            oids.add(child.oid)
    for t in targets:
        txn.lock_table_exclusive(t.oid)
        td = TableData(t, cat.indexes_of(t.oid))
        txn.replace_table_data(t.oid, td, "truncated")
        if node.restart_identity:
            for seq in cat.sequences():
                if seq.owned_by[0] == t.oid:
                    txn.db.setval(txn, seq, seq.start, False)
    return _result("TRUNCATE TABLE")


# --- ALTER TABLE ----------------------------------------------------------------------------------------

def alter(session: Session, txn: Transaction, node: D.AlterTable) -> Result:
    cat = txn.begin_ddl()
    tag = f"ALTER {node.kind.upper()}"
    try:
        rel, sysv = session.resolve_relation(cat, node.name[0], node.name[1])
    except errors.UndefinedTable:
        if node.if_exists:
            session.notice(f'relation "{node.name[1]}" does not exist, skipping')
            return _result(tag)
        raise
    if sysv is not None:
        raise errors.InsufficientPrivilege(f'permission denied: "{node.name[1]}" is a system '
                                           "catalog")
    if node.kind != "table" or not isinstance(rel, TableDef):
        for a in node.actions:
            if a.kind == "rename":
                if (rel.schema_oid, a.new_name) in cat.names:
                    raise errors.DuplicateTable(f'relation "{a.new_name}" already exists')
                cat.replace_relation(replace(rel, name=a.new_name))
                for con in list(cat.constraints.values()):
                    if isinstance(rel, IndexDef) and con.index_oid == rel.oid:
                        cat.replace_constraint(replace(con, name=a.new_name))
            elif a.kind != "noop":
                raise errors.WrongObjectType(f'"{rel.name}" is not a table')
        return _result(tag)
    txn.lock_table_exclusive(rel.oid)
    tdef = rel
    for a in node.actions:
        tdef = _ALTER_ACTIONS[a.kind](session, txn, cat, tdef, a)
    return _result(tag)


def _col(tdef: TableDef, name: str) -> ColumnDef:
    c = tdef.column(name)
    if c is None:
        raise errors.UndefinedColumn(f'column "{name}" of relation "{tdef.name}" does not exist')
    return c


def _replace_col(cat: Catalog, tdef: TableDef, col: ColumnDef) -> TableDef:
    cols = tuple(col if c.attnum == col.attnum else c for c in tdef.columns)
    new = replace(tdef, columns=cols)
    cat.replace_relation(new)
    return new


def _a_add_column(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
                  a: D.AlterAction) -> TableDef:
    el = a.node
    if tdef.column(el.name) is not None:
        if a.if_not_exists:
            session.notice(f'column "{el.name}" of relation "{tdef.name}" already exists, '
                           "skipping")
            return tdef
        raise errors.DuplicateColumn(f'column "{el.name}" of relation "{tdef.name}" already '
                                     "exists")
    ctype, is_serial = _column_type(el.args["kind"])
    col = ColumnDef(el.name, ctype, tdef.next_attnum, not_null=is_serial)
    pending: list = []
    serials: list = []
    if is_serial:
        serials.append((len(tdef.columns), ctype, {}))
    for cc in el.args.get("constraints") or []:
        col = _column_constraint(session, cat, col, cc, pending, serials, len(tdef.columns))
    new = replace(tdef, columns=tdef.columns + (col,), next_attnum=tdef.next_attnum + 1)
    cat.replace_relation(new)
    for _pos, st, opts in serials:
        seq = _new_sequence(cat, tdef.schema_oid, tdef.name, col.name, st,
                            opts.get("start", 1), opts.get("increment", 1))
        seq = replace(seq, owned_by=(tdef.oid, col.attnum))
        cat.replace_relation(seq)
        txn.db.seq_values.setdefault(seq.oid, [seq.start, False])
        col = replace(col, default=f"nextval('{_qualified(cat, seq)}'::regclass)",
                      sequence_oid=seq.oid, not_null=True)
        new = _replace_col(cat, new, col)
    binder = _binder(session, cat)
    generate = None
    if col.generated:
        _validate_generated(session, cat, new)
        generate = binder.table_rules(new).generated[-1][1]   # the new, last column
    default = compile_expr(binder.column_default(new, col))
    ctx = session.make_context(txn, [], cat)

    def transform(r: tuple) -> tuple:
        if generate is not None:
            return r + (generate(r + (None,), ctx),)
        v = default((), ctx)
        if v is None and col.not_null:
            raise errors.NotNullViolation(
                f'column "{col.name}" of relation "{tdef.name}" contains null values')
        return r + (v,)
    _rewrite(txn, tdef, new, transform)
    used: set[str] = set()
    for cname, cel, col_name in pending:
        new = _add_table_constraint(session, txn, cat, new, cel, cname, col_name, used,
                                    creating=False)
    return new


def _a_drop_column(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
                   a: D.AlterAction) -> TableDef:
    col = tdef.column(a.column or "")
    if col is None:
        if a.if_exists:
            session.notice(f'column "{a.column}" of relation "{tdef.name}" does not exist, '
                           "skipping")
            return tdef
        raise errors.UndefinedColumn(f'column "{a.column}" of relation "{tdef.name}" does not '
                                     "exist")
    for con in cat.referencing(tdef.oid):
        if col.attnum in con.ref_attnums and con.table_oid != tdef.oid:
            if not a.cascade:
                raise errors.DependentObjectsStillExist(
                    f"cannot drop column {col.name} of table {tdef.name} because other objects "
                    "depend on it",
                    detail=f"constraint {con.name} on table "
                           f"{cat.relations[con.table_oid].name} depends on column "
                           f"{col.name} of table {tdef.name}",
                    hint="Use DROP ... CASCADE to drop the dependent objects too.")
            cat.drop_constraint(con.oid)
    for con in cat.constraints_of(tdef.oid):
        if col.attnum in con.attnums or (con.kind == "c" and con.expr and
                                         _mentions(con.expr, col.name)):
            cat.drop_constraint(con.oid)
    for idx in cat.indexes_of(tdef.oid):
        if col.attnum in idx.attnums:
            cat.drop_relation(idx.oid)
    pos = tdef.position(col.attnum)
    pk = () if col.attnum in tdef.pk else tdef.pk
    new = replace(tdef, columns=tuple(c for c in tdef.columns if c.attnum != col.attnum), pk=pk)
    cat.replace_relation(new)
    if col.sequence_oid and col.sequence_oid in cat.relations:
        cat.drop_relation(col.sequence_oid)
    _rewrite(txn, tdef, new, lambda r: r[:pos] + r[pos + 1:])
    return new


def _mentions(sql: str, name: str) -> bool:
    from aiondb.sql.bind_dml import parse_expression
    return any(c.name == name for c in parse_expression(sql).find_all(exp.Column))


def _a_alter_type(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
                  a: D.AlterAction) -> TableDef:
    col = _col(tdef, a.column or "")
    target = type_from_name(a.node)
    binder = _binder(session, cat)
    scope = _table_scope(binder, tdef)
    pos = tdef.position(col.attnum)
    if a.expr is not None:
        e = binder.coerce(binder.expr(a.expr, scope), target, "a", col.name)
    else:
        src = Col(pos, col.type, col.name)
        try:
            e = binder.coerce(src, target, "a", col.name)
        except errors.DatabaseError:
            raise errors.DatatypeMismatch(
                f'column "{col.name}" cannot be cast automatically to type '
                f"{target.sql_name()}",
                hint=f'You might need to specify "USING {col.name}::{target.sql_name()}".'
                ) from None
    fn = compile_expr(e)
    ctx = session.make_context(txn, [], cat)
    new = _replace_col(cat, tdef, replace(col, type=target))
    _rewrite(txn, tdef, new, lambda r: r[:pos] + (fn(r, ctx),) + r[pos + 1:])
    return new


def _a_set_default(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
                   a: D.AlterAction) -> TableDef:
    col = _col(tdef, a.column or "")
    return _replace_col(cat, tdef, replace(col, default=_bind_default(session, cat, col,
                                                                       a.expr)))


def _a_drop_default(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
                    a: D.AlterAction) -> TableDef:
    col = _col(tdef, a.column or "")
    return _replace_col(cat, tdef, replace(col, default=None))


def _a_set_not_null(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
                    a: D.AlterAction) -> TableDef:
    col = _col(tdef, a.column or "")
    pos = tdef.position(col.attnum)
    for _k, r in _visible_rows(txn, tdef.oid):
        if r[pos] is None:
            raise errors.NotNullViolation(
                f'column "{col.name}" of relation "{tdef.name}" contains null values')
    return _replace_col(cat, tdef, replace(col, not_null=True))


def _a_drop_not_null(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
                     a: D.AlterAction) -> TableDef:
    col = _col(tdef, a.column or "")
    if col.attnum in tdef.pk:
        raise errors.InvalidTableDefinition(f'column "{col.name}" is in a primary key')
    return _replace_col(cat, tdef, replace(col, not_null=False))


def _a_add_constraint(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
                      a: D.AlterAction) -> TableDef:
    return _add_table_constraint(session, txn, cat, tdef, a.node, None, None, set(),
                                 creating=False)


def _a_drop_constraint(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
                       a: D.AlterAction) -> TableDef:
    for con in cat.constraints_of(tdef.oid):
        if con.name == a.new_name:
            if con.kind in ("p", "u"):
                for fk in cat.referencing(tdef.oid):
                    if tuple(sorted(fk.ref_attnums)) == tuple(sorted(con.attnums)):
                        if not a.cascade:
                            raise errors.DependentObjectsStillExist(
                                f"cannot drop constraint {con.name} on table {tdef.name} "
                                "because other objects depend on it",
                                detail=f"constraint {fk.name} on table "
                                       f"{cat.relations[fk.table_oid].name} depends on index "
                                       f"{con.name}",
                                hint="Use DROP ... CASCADE to drop the dependent objects too.")
                        cat.drop_constraint(fk.oid)
                cat.drop_constraint(con.oid)
                if con.index_oid in cat.relations:
                    cat.drop_relation(con.index_oid)
                if con.kind == "p":
                    new = replace(tdef, pk=())
                    cat.replace_relation(new)
                    _rewrite(txn, tdef, new, lambda r: r)
                    return new
                return tdef
            cat.drop_constraint(con.oid)
            return tdef
    if a.if_exists:
        session.notice(f'constraint "{a.new_name}" of relation "{tdef.name}" does not exist, '
                       "skipping")
        return tdef
    raise errors.UndefinedObject(f'constraint "{a.new_name}" of relation "{tdef.name}" does '
                                 "not exist")


def _rename_in_expr(sql: str, old: str, new: str) -> str:
    from aiondb.sql.bind_dml import parse_expression
    tree = parse_expression(sql)
    for c in tree.find_all(exp.Column):
        if c.name == old:
            c.set("this", exp.to_identifier(new))
    return _sql(tree)


def _a_rename_column(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
                     a: D.AlterAction) -> TableDef:
    col = _col(tdef, a.column or "")
    if tdef.column(a.new_name or "") is not None:
        raise errors.DuplicateColumn(f'column "{a.new_name}" of relation "{tdef.name}" already '
                                     "exists")
    new = _replace_col(cat, tdef, replace(col, name=a.new_name))
    for con in cat.constraints_of(tdef.oid):
        if con.kind == "c" and con.expr:
            cat.replace_constraint(replace(con, expr=_rename_in_expr(con.expr, col.name,
                                                                     a.new_name or "")))
    return new


def _a_rename_constraint(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
                         a: D.AlterAction) -> TableDef:
    for con in cat.constraints_of(tdef.oid):
        if con.name == a.column:
            cat.replace_constraint(replace(con, name=a.new_name))
            if con.index_oid in cat.relations:
                cat.replace_relation(replace(cat.relations[con.index_oid], name=a.new_name))
            return tdef
    raise errors.UndefinedObject(f'constraint "{a.column}" for table "{tdef.name}" does not '
                                 "exist")


def _a_rename(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
              a: D.AlterAction) -> TableDef:
    new = replace(tdef, name=a.new_name)
    cat.replace_relation(new)
    return new


def _a_set_schema(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
                  a: D.AlterAction) -> TableDef:
    sdef = cat.schema(a.new_name or "")
    if sdef is None:
        raise errors.InvalidSchemaName(f'schema "{a.new_name}" does not exist')
    new = replace(tdef, schema_oid=sdef.oid)
    cat.replace_relation(new)
    for idx in cat.indexes_of(tdef.oid):
        cat.replace_relation(replace(idx, schema_oid=sdef.oid))
    return new


def _a_add_identity(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
                    a: D.AlterAction) -> TableDef:
    col = _col(tdef, a.column or "")
    if col.identity:
        raise errors.ObjectNotInPrerequisiteState(
            f'column "{col.name}" of relation "{tdef.name}" is already an identity column')
    seq = _new_sequence(cat, tdef.schema_oid, tdef.name, col.name, col.type)
    seq = replace(seq, owned_by=(tdef.oid, col.attnum))
    cat.replace_relation(seq)
    txn.db.seq_values.setdefault(seq.oid, [seq.start, False])
    return _replace_col(cat, tdef, replace(
        col, identity=a.new_name, sequence_oid=seq.oid, not_null=True,
        default=f"nextval('{_qualified(cat, seq)}'::regclass)"))


def _a_drop_identity(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
                     a: D.AlterAction) -> TableDef:
    col = _col(tdef, a.column or "")
    if not col.identity:
        if a.if_exists:
            return tdef
        raise errors.ObjectNotInPrerequisiteState(
            f'column "{col.name}" of relation "{tdef.name}" is not an identity column')
    if col.sequence_oid in cat.relations:
        cat.drop_relation(col.sequence_oid)
    return _replace_col(cat, tdef, replace(col, identity="", sequence_oid=0, default=None))


def _a_noop(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
            a: D.AlterAction) -> TableDef:
    return tdef


_ALTER_ACTIONS: dict[str, Any] = {
    "add_column": _a_add_column, "drop_column": _a_drop_column, "alter_type": _a_alter_type,
    "set_default": _a_set_default, "drop_default": _a_drop_default,
    "set_not_null": _a_set_not_null, "drop_not_null": _a_drop_not_null,
    "add_constraint": _a_add_constraint, "drop_constraint": _a_drop_constraint,
    "rename_column": _a_rename_column, "rename_constraint": _a_rename_constraint,
    "rename": _a_rename, "set_schema": _a_set_schema, "add_identity": _a_add_identity,
    "drop_identity": _a_drop_identity, "noop": _a_noop,
}

_HANDLERS: dict[type, Any] = {
    D.DropStmt: drop, D.TruncateStmt: truncate, D.CreateSchema: create_schema,
    D.CreateSequence: create_sequence, D.AlterSequence: alter_sequence, D.AlterTable: alter,
}
