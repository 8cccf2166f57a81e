"""COMMENT ON { TABLE | VIEW | MATERIALIZED VIEW | INDEX | SEQUENCE | COLUMN |
SCHEMA | CONSTRAINT name ON } object IS 'text' | NULL.

Comments live in the catalog (Catalog.comments), so they are transactional
and durable like any other DDL, and pg_description / obj_description /
col_description / psql's Description columns read them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiondb import errors
from aiondb.sql.ddl_parse import _P
from aiondb.sql.lexer import Token
from aiondb.storage.catalog import IndexDef, MatViewDef, SequenceDef, TableDef, ViewDef

if TYPE_CHECKING:
    from aiondb.sql.results import Result
    from aiondb.sql.session import Session
    from aiondb.storage.txn import Transaction

# object kinds that name a relation, and the relation class each requires
_REL_KINDS = {"table": TableDef, "view": ViewDef, "materialized view": MatViewDef,
              "index": IndexDef, "sequence": SequenceDef}
_ARTICLE = {"index": "an index"}


@dataclass(frozen=True)
class CommentStmt:
    kind: str                       # table, view, ..., column, schema, constraint
    names: tuple[str, ...]          # the object's (possibly qualified) name
    text: str | None
    on: tuple[str, ...] = ()        # CONSTRAINT name ON <table>


def parse_comment(text: str, toks: list[Token]) -> CommentStmt:
    p = _P(text, toks)
    p.i = 2                          # COMMENT ON
    kind = p.word("table", "view", "index", "sequence", "column", "schema", "constraint",
                  "materialized")
    if kind is None:
        tok = p.peek()
        if tok is None or tok.kind != "word":
            raise p.error()
        raise errors.FeatureNotSupported(f"COMMENT ON {tok.text.upper()} is not supported")
    if kind == "materialized":
        p.expect("view")
        kind = "materialized view"
    names = [p.ident()]
    while p.op("."):
        names.append(p.ident())
    on: list[str] = []
    if kind == "constraint":
        p.expect("on")
        if p.word("domain"):
            raise errors.FeatureNotSupported("domains are not supported")
        on = [p.ident()]
        while p.op("."):
            on.append(p.ident())
    p.expect("is")
    value: str | None
    if p.word("null"):
        value = None
    else:
        tok = p.peek()
        if tok is None or tok.kind != "string":
            raise p.error()
        p.i += 1
        value = tok.value
    p.end()
    return CommentStmt(kind, tuple(names), value, tuple(on))


def _strip_database(session: Session, names: tuple[str, ...], most: int) -> tuple[str, ...]:
    """Names may be qualified by the current database, as in PostgreSQL."""
    if len(names) > most:
        if len(names) == most + 1 and names[0] == session.db.name:
            return names[1:]
        if len(names) == most + 1:
            raise errors.FeatureNotSupported(
                "cross-database references are not implemented: " + ".".join(names))
        raise errors.SyntaxError("improper qualified name (too many dotted names): " +
                                 ".".join(names))
    return names


def _relation(session: Session, names: tuple[str, ...]) -> object:
    names = _strip_database(session, names, 2)
    schema, name = (names[0], names[1]) if len(names) == 2 else (None, names[0])
    rel, sysv = session.resolve_relation(session.current_catalog(), schema, name)
    if rel is None:
        if sysv is not None:
            raise errors.FeatureNotSupported(f'cannot comment on system catalog "{name}"')
        raise errors.UndefinedTable(f'relation "{name}" does not exist')
    return rel


def comment(session: Session, txn: Transaction, node: CommentStmt) -> Result:
    from aiondb.sql.ddl_common import _result
    cat = txn.begin_ddl()
    if node.kind == "schema":
        if len(node.names) != 1:
            raise errors.SyntaxError("schema name cannot be qualified")
        sdef = cat.schema(node.names[0])
        if sdef is None:
            raise errors.InvalidSchemaName(f'schema "{node.names[0]}" does not exist')
        cat.set_comment(sdef.oid, 0, node.text)
    elif node.kind == "column":
        if len(node.names) < 2:
            raise errors.SyntaxError("column name must be qualified")
        rel = _relation(session, _strip_database(session, node.names[:-1], 2))
        col_name = node.names[-1]
        if not isinstance(rel, (TableDef, ViewDef)):
            what = "indexes" if isinstance(rel, IndexDef) else "sequences"
            raise errors.WrongObjectType(f'cannot set comment on relation "{rel.name}"',
                                         detail=f"This operation is not supported for {what}.")
        col = next((c for c in rel.columns if c.name == col_name), None)
        if col is None:
            raise errors.UndefinedColumn(
                f'column "{col_name}" of relation "{rel.name}" does not exist')
        cat.set_comment(rel.oid, col.attnum, node.text)
    elif node.kind == "constraint":
        rel = _relation(session, node.on)
        con = next((c for c in cat.constraints_of(rel.oid) if c.name == node.names[-1]),
                   None)
        if len(node.names) != 1 or con is None:
            raise errors.UndefinedObject(f'constraint "{node.names[-1]}" for table '
                                         f'"{rel.name}" does not exist')
        cat.set_comment(con.oid, 0, node.text)
    else:
        rel = _relation(session, node.names)
        want = _REL_KINDS[node.kind]
        # a materialized view is a TableDef subclass, but not a table
        if not isinstance(rel, want) or (want is TableDef and isinstance(rel, MatViewDef)):
            article = _ARTICLE.get(node.kind, "a " + node.kind)
            raise errors.WrongObjectType(f'"{rel.name}" is not {article}')
        cat.set_comment(rel.oid, 0, node.text)
    return _result("COMMENT")
