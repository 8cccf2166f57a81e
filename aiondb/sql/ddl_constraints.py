"""Table constraints (PRIMARY KEY, UNIQUE, CHECK, FOREIGN KEY): adding them,
checking existing rows against them, and rewriting a table's rows under a
new definition."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from aiondb import errors
from aiondb.sql import deferred, temp_tables
from aiondb.sql.ddl_common import _binder, _lookup_table, _sql, _table_scope, _unique_name
from aiondb.sql.expr_compile import compile_expr
from aiondb.storage.catalog import Catalog, ConstraintDef, IndexDef, TableDef
from aiondb.storage.table import (
    NOT_INDEXED,
    TableData,
    index_key_fn,
    index_labels,
    key_has_null,
)

if TYPE_CHECKING:
    from aiondb.sql.session import Session
    from aiondb.storage.txn import Transaction

_FK_ACTIONS = {"NO ACTION": "a", "RESTRICT": "r", "CASCADE": "c", "SET NULL": "n",
               "SET DEFAULT": "d"}


def _validate_check(session: Session, cat: Catalog, tdef: TableDef, node: exp.Expr) -> str:
    binder = _binder(session, cat)
    e = binder.expr(node, _table_scope(binder, tdef))
    binder.to_bool(e, "CHECK")
    return _sql(node)


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
