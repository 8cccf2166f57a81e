"""ALTER TABLE / VIEW / INDEX / SEQUENCE ... RENAME and the ALTER TABLE actions."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from aiondb import errors
from aiondb.sql import ddl_parse as D
from aiondb.sql.binder import type_from_name
from aiondb.sql.ddl_common import _binder, _result, _sql, _table_scope
from aiondb.sql.ddl_constraints import (
    _add_table_constraint,
    _rewrite,
    _visible_rows,
    validate_existing_rows,
)
from aiondb.sql.ddl_objects import apply_sequence_options
from aiondb.sql.ddl_table import (
    _bind_default,
    _column_constraint,
    _column_type,
    _new_sequence,
    _validate_generated,
    nextval_default,
)
from aiondb.sql.expr import Col
from aiondb.sql.expr_compile import compile_expr
from aiondb.storage.catalog import (
    Catalog,
    ColumnDef,
    IndexDef,
    MatViewDef,
    SequenceDef,
    TableDef,
    ViewDef,
)

if TYPE_CHECKING:
    from aiondb.sql.results import Result
    from aiondb.sql.session import Session
    from aiondb.storage.txn import Transaction

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
    if node.kind == "materialized view" and isinstance(rel, MatViewDef) and \
            all(a.kind == "rename_column" for a in node.actions):
        for a in node.actions:
            _a_rename_column(session, txn, cat, rel, a)
        return _result(tag)
    if node.kind not in ("table", "materialized view") or not isinstance(rel, TableDef) or \
            node.kind == "materialized view" or isinstance(rel, MatViewDef):
        if node.kind == "materialized view" and not isinstance(rel, MatViewDef):
            raise errors.WrongObjectType(f'"{rel.name}" is not a materialized view')
        for a in node.actions:
            if a.kind == "rename":
                if (rel.schema_oid, a.new_name) in cat.names:
                    raise errors.DuplicateTable(f'relation "{a.new_name}" already exists')
                cat.replace_relation(replace(rel, name=a.new_name))
                for con in list(cat.constraints.values()):
                    if isinstance(rel, IndexDef) and con.index_oid == rel.oid:
                        cat.replace_constraint(replace(con, name=a.new_name))
            elif a.kind == "set_schema" and isinstance(rel, (SequenceDef, ViewDef)):
                _move_relation(cat, rel, a.new_name or "")
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
        col = replace(col, default=nextval_default(seq),
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
    users = [c for c in tdef.columns if c.generated and c.default and c.attnum != col.attnum
             and _mentions(c.default, col.name)]
    if users and not a.cascade:
        raise errors.DependentObjectsStillExist(
            f"cannot drop column {col.name} of table {tdef.name} because other objects "
            "depend on it",
            detail="\n".join(f"column {u.name} of table {tdef.name} depends on column "
                             f"{col.name} of table {tdef.name}" for u in users),
            hint="Use DROP ... CASCADE to drop the dependent objects too.")
    for u in users:
        session.notice(f"drop cascades to column {u.name} of table {tdef.name}")
        tdef = _a_drop_column(session, txn, cat, tdef,
                              replace(a, column=u.name, cascade=True, if_exists=False))
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
        texts = idx.exprs + ((idx.predicate,) if idx.predicate else ())
        if col.attnum in idx.attnums or any(_mentions(t, col.name) for t in texts):
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
    for other in tdef.columns:
        if other.generated and other.default and other.attnum != col.attnum and \
                _mentions(other.default, col.name):
            raise errors.FeatureNotSupported(
                "cannot alter type of a column used by a generated column",
                detail=f'Column "{col.name}" is used by generated column "{other.name}".')
    fn = compile_expr(e)
    ctx = session.make_context(txn, [], cat)
    new = _replace_col(cat, tdef, replace(col, type=target))
    _rebind_dependents(session, cat, new)
    _rewrite(txn, tdef, new, lambda r: r[:pos] + (fn(r, ctx),) + r[pos + 1:])
    return new


def _rebind_dependents(session: Session, cat: Catalog, tdef: TableDef) -> None:
    """After a column's type changes, its CHECK constraints, generation
    expressions and index expressions must still make sense (PostgreSQL
    re-parses them and fails the ALTER if they do not)."""
    from aiondb.sql.bind_dml import parse_expression
    from aiondb.sql.index_keys import check_index_expression
    binder = _binder(session, cat)
    scope = _table_scope(binder, tdef)
    for con in cat.constraints_of(tdef.oid):
        if con.kind == "c" and con.expr:
            binder.to_bool(binder.expr(parse_expression(con.expr), scope), "CHECK")
    for c in tdef.columns:
        if c.generated and c.default:
            binder.coerce(binder.expr(parse_expression(c.default), scope), c.type, "a", c.name)
    for idx in cat.indexes_of(tdef.oid):
        for text in idx.exprs:
            check_index_expression(binder.expr(parse_expression(text), scope), "expression")
        if idx.predicate:
            check_index_expression(binder.to_bool(
                binder.expr(parse_expression(idx.predicate), scope), "WHERE"), "predicate")


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
                                 creating=False, not_valid=a.not_valid)


def _a_validate_constraint(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
                           a: D.AlterAction) -> TableDef:
    """VALIDATE CONSTRAINT: check the rows a NOT VALID constraint skipped."""
    con = next((c for c in cat.constraints_of(tdef.oid) if c.name == a.new_name), None)
    if con is None:
        raise errors.UndefinedObject(
            f'constraint "{a.new_name}" of relation "{tdef.name}" does not exist')
    if con.kind not in ("c", "f"):
        raise errors.WrongObjectType(
            f'constraint "{con.name}" of relation "{tdef.name}" is not a foreign key or check '
            "constraint")
    if not con.validated:
        validate_existing_rows(session, txn, cat, tdef, con)
        cat.drop_constraint(con.oid)
        cat.add_constraint(replace(con, validated=True))
    return tdef


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
    for other in new.columns:
        if other.generated and other.default:
            new = _replace_col(cat, new, replace(other, default=_rename_in_expr(
                other.default, col.name, a.new_name or "")))
    for con in cat.constraints_of(tdef.oid):
        if con.kind == "c" and con.expr:
            cat.replace_constraint(replace(con, expr=_rename_in_expr(con.expr, col.name,
                                                                     a.new_name or "")))
    # index expressions and predicates are stored as text: they follow the rename
    for idx in cat.indexes_of(tdef.oid):
        if idx.exprs or idx.predicate:
            cat.replace_relation(replace(
                idx, exprs=tuple(_rename_in_expr(t, col.name, a.new_name or "")
                                 for t in idx.exprs),
                predicate=_rename_in_expr(idx.predicate, col.name, a.new_name or "")
                if idx.predicate else None))
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


def _move_relation(cat: Catalog, rel: Any, schema: str) -> Any:
    """SET SCHEMA for one relation (defaults naming it are bound by OID)."""
    sdef = cat.schema(schema)
    if sdef is None:
        raise errors.InvalidSchemaName(f'schema "{schema}" does not exist')
    if sdef.oid != rel.schema_oid and (sdef.oid, rel.name) in cat.names:
        raise errors.DuplicateTable(f'relation "{rel.name}" already exists in schema '
                                    f'"{sdef.name}"')
    new = replace(rel, schema_oid=sdef.oid)
    cat.replace_relation(new)
    return new


def _a_set_schema(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
                  a: D.AlterAction) -> TableDef:
    new = _move_relation(cat, tdef, a.new_name or "")
    for idx in cat.indexes_of(tdef.oid):
        cat.replace_relation(replace(idx, schema_oid=new.schema_oid))
    # the sequences its columns own move with it, as in PostgreSQL
    for rel in list(cat.relations.values()):
        if isinstance(rel, SequenceDef) and rel.owned_by and rel.owned_by[0] == tdef.oid:
            _move_relation(cat, rel, a.new_name or "")
    return new


def _a_add_identity(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
                    a: D.AlterAction) -> TableDef:
    col = _col(tdef, a.column or "")
    if col.identity:
        raise errors.ObjectNotInPrerequisiteState(
            f'column "{col.name}" of relation "{tdef.name}" is already an identity column')
    if not col.not_null:
        raise errors.ObjectNotInPrerequisiteState(
            f'column "{col.name}" of relation "{tdef.name}" must be declared NOT NULL before '
            "identity can be added")
    if col.default is not None:
        raise errors.ObjectNotInPrerequisiteState(
            f'column "{col.name}" of relation "{tdef.name}" already has a default value')
    opts = dict(a.node or {})
    schema_oid, name = tdef.schema_oid, None
    seq_name = opts.pop("sequence_name", None)     # SEQUENCE NAME [schema.]name
    if seq_name:
        if len(seq_name) > 2:
            raise errors.SyntaxError("improper qualified name (too many dotted names): "
                                     + ".".join(seq_name))
        if len(seq_name) == 2:
            sdef = cat.schema(seq_name[0])
            if sdef is None:
                raise errors.InvalidSchemaName(f'schema "{seq_name[0]}" does not exist')
            schema_oid = sdef.oid
        name = seq_name[-1]
    seq = _new_sequence(cat, schema_oid, tdef.name, col.name, col.type, name=name)
    seq = replace(seq, owned_by=(tdef.oid, col.attnum))
    cat.replace_relation(seq)
    if opts:
        seq = apply_sequence_options(txn, cat, seq, opts)
    txn.db.seq_values.setdefault(seq.oid, [seq.start, False])
    return _replace_col(cat, tdef, replace(
        col, identity=a.new_name, sequence_oid=seq.oid, not_null=True,
        default=nextval_default(seq)))


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


def _a_alter_identity(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
                      a: D.AlterAction) -> TableDef:
    """ALTER COLUMN ... SET GENERATED / RESTART / SET <sequence option>."""
    col = _col(tdef, a.column or "")
    if not col.identity:
        raise errors.ObjectNotInPrerequisiteState(
            f'column "{col.name}" of relation "{tdef.name}" is not an identity column')
    opts = dict(a.node)
    generated = opts.pop("generated", None)
    seq = cat.relations.get(col.sequence_oid)
    if opts and isinstance(seq, SequenceDef):
        apply_sequence_options(txn, cat, seq, opts)
    if generated is not None:
        return _replace_col(cat, tdef, replace(col, identity=generated))
    return tdef


def _a_noop(session: Session, txn: Transaction, cat: Catalog, tdef: TableDef,
            a: D.AlterAction) -> TableDef:
    return tdef


_ALTER_ACTIONS: dict[str, Any] = {
    "add_column": _a_add_column, "drop_column": _a_drop_column, "alter_type": _a_alter_type,
    "set_default": _a_set_default, "drop_default": _a_drop_default,
    "set_not_null": _a_set_not_null, "drop_not_null": _a_drop_not_null,
    "add_constraint": _a_add_constraint, "drop_constraint": _a_drop_constraint,
    "validate_constraint": _a_validate_constraint,
    "rename_column": _a_rename_column, "rename_constraint": _a_rename_constraint,
    "rename": _a_rename, "set_schema": _a_set_schema, "add_identity": _a_add_identity,
    "drop_identity": _a_drop_identity, "alter_identity": _a_alter_identity, "noop": _a_noop,
}
