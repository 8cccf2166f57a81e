"""Helpers the DDL modules share: result tags, expression text, free
constraint names, table lookup, the binder and a table's scope, and the
pseudo-type check of stored columns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlglot import exp

from aiondb import errors
from aiondb import types as T
from aiondb.sql import ddl_parse as D
from aiondb.sql.dialect import AionDB
from aiondb.sql.scope import Scope
from aiondb.storage.catalog import Catalog, ColumnDef, TableDef

if TYPE_CHECKING:
    from aiondb.sql.results import Result
    from aiondb.sql.session import Session


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


def check_pseudo_types(cols: tuple[ColumnDef, ...]) -> None:
    """Stored relations cannot have columns of the record pseudo-type."""
    for c in cols:
        if c.type.oid == T.RECORD.oid or (c.type.elem is not None and
                                          c.type.elem.oid == T.RECORD.oid):
            label = "record[]" if c.type.elem is not None else "record"
            raise errors.InvalidTableDefinition(f'column "{c.name}" has pseudo-type {label}')
